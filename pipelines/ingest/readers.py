"""Raw readers shared by the profiles: stream CSV, JSON Lines and Excel as string frames.

Each yields pandas frames holding only the contract's columns, as text, plus `_row` (the
1-based data row of the file, header excluded) so every rejection can name its row. Columns
outside the contract are never read into a frame; they are reported as schema drift by position
(a header can hold a name), never by their text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from pipelines.ingest.errors import DropError, file_label

BLOCK_SIZE = 8 << 20  # bytes per CSV block: bounds memory whatever the file's size
MAX_HEADER_BYTES = 1 << 20
JSON_CHUNK = 50_000  # lines per JSON frame


# Columns the contract names although no profile reads them: a reason may name these.
KNOWN_UNREAD = {"lisatiedot"}


class RawSource:
    """Counts what one file yielded and collects row-level structural rejects."""

    def __init__(self, path: Path, expected_columns: list[str], label: str | None = None):
        self.path = path
        self.label = label or file_label(path.name, "data")
        self.expected = expected_columns
        self.drift: list[str] = []
        self.rows_read = 0
        self.rejects: list[tuple[int, str | None, str]] = []  # (row, column, reason)
        # typed column -> the source's own column name, so rejections speak the file's terms
        self.aliases: dict[str, str] = {}

    def reject(self, row: int, column: str | None, reason: str) -> None:
        self.rejects.append((row, self.aliases.get(column, column) if column else None, reason))

    def check_header(self, header: list[str], position=lambda i: f"column {i + 1}") -> None:
        """Every contract column present once; any other column is drift, reported by its
        position (a header cell can hold a name or an identity code), never by its text."""
        missing = [c for c in self.expected if c not in header]
        if missing:
            raise DropError(f"missing column(s) {', '.join(missing)}", file=self.label)
        repeated = sorted({c for c in self.expected if header.count(c) > 1})
        if repeated:
            raise DropError(f"column(s) {', '.join(repeated)} appear more than once in the "
                            "header", file=self.label)
        self.drift = [name if name in KNOWN_UNREAD else position(index)
                      for index, name in enumerate(header)
                      if name and name not in self.expected]  # an unnamed column is no drift


class CsvSource(RawSource):
    """`;`-separated text with a header row, in utf-8 or cp1252 (DESIGN §4.1)."""

    def __init__(self, path: Path, expected_columns: list[str], encoding: str,
                 label: str | None = None):
        super().__init__(path, expected_columns, label)
        self.encoding = encoding

    def _header(self) -> list[str]:
        with self.path.open("rb") as handle:
            first = handle.readline(MAX_HEADER_BYTES + 1)
        if len(first) > MAX_HEADER_BYTES:
            raise DropError(f"header row is longer than {MAX_HEADER_BYTES} bytes",
                            file=self.label)
        if not first.strip():
            raise DropError("file is empty (no header row)", file=self.label)
        try:
            text = first.decode("utf-8-sig" if self.encoding == "utf-8" else self.encoding)
        except UnicodeDecodeError as exc:
            raise DropError(f"header is not valid {self.encoding}", file=self.label) from exc
        return [c.strip() for c in next(csv.reader(io.StringIO(text), delimiter=";"))]

    def frames(self) -> Iterator[pd.DataFrame]:
        header = self._header()
        self.check_header(header)
        invalid: list[int] = []

        def on_invalid(row: pacsv.InvalidRow) -> str:
            # pyarrow's number is the physical line (header = 1); never log the row's text.
            number = (row.number - 1) if row.number else -1
            invalid.append(number)
            self.reject(number, None,
                        f"expected {row.expected_columns} fields, found {row.actual_columns}")
            return "skip"

        valid_so_far = 0
        try:
            # open_csv parses the first block already, so it belongs inside the try.
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(
                    encoding="utf8" if self.encoding == "utf-8" else self.encoding,
                    block_size=BLOCK_SIZE, use_threads=False),
                parse_options=pacsv.ParseOptions(delimiter=";", newlines_in_values=True,
                                                 invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    include_columns=self.expected,
                    column_types={c: pa.string() for c in self.expected},
                    strings_can_be_null=True, quoted_strings_can_be_null=True,
                    null_values=[""]),
            )
            for batch in reader:
                frame = batch.to_pandas()
                positions = np.arange(valid_so_far + 1, valid_so_far + len(frame) + 1)
                frame["_row"] = _data_rows(positions, invalid)
                valid_so_far += len(frame)
                yield frame
        except (UnicodeDecodeError, pa.ArrowInvalid) as exc:
            raise DropError(f"cannot be parsed as {self.encoding} CSV ({_kind(exc)})",
                            file=self.label) from exc
        self.rows_read = valid_so_far + len(invalid)


def _data_rows(valid_positions: np.ndarray, invalid: list[int]) -> np.ndarray:
    """Map the k-th valid row to its data-row number, skipping rows pyarrow dropped as invalid."""
    if not invalid:
        return valid_positions
    skipped = np.sort(np.asarray(invalid))
    rows = valid_positions.copy()
    for _ in range(len(skipped) + 1):
        moved = valid_positions + np.searchsorted(skipped, rows, side="right")
        if np.array_equal(moved, rows):
            break
        rows = moved
    return rows


class JsonLinesSource(RawSource):
    """One JSON object per line, UTF-8 (DESIGN §4.2). Wrong shapes are row rejects."""

    def __init__(self, path: Path, expected_columns: list[str], label: str | None = None,
                 *, max_line_bytes: int):
        super().__init__(path, expected_columns, label)
        self.max_line_bytes = max_line_bytes

    def frames(self) -> Iterator[pd.DataFrame]:
        unknown_keys: set[str] = set()  # counted, never reported by name; capped in size
        buffer: list[dict] = []
        row = 0
        with self.path.open("rb") as handle:
            while line := handle.readline(self.max_line_bytes + 1):
                row += 1
                if len(line) > self.max_line_bytes and not line.endswith(b"\n"):
                    raise DropError(f"line is longer than {self.max_line_bytes} bytes",
                                    file=self.label, row=row)
                if not line.strip():
                    self.reject(row, None, "empty line")
                    continue
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    if "UTF-8" in str(exc):
                        raise DropError("is not valid UTF-8", file=self.label, row=row) from exc
                    self.reject(row, None, "not valid JSON")
                    continue
                if not isinstance(record, dict):
                    self.reject(row, None, "line is not a JSON object")
                    continue
                if len(unknown_keys) < 1000:
                    unknown_keys.update(k for k in record if k not in self.expected)
                kept = {key: record.get(key) for key in self.expected}
                kept["_row"] = row
                buffer.append(kept)
                if len(buffer) >= JSON_CHUNK:
                    yield pd.DataFrame(buffer, columns=[*self.expected, "_row"], dtype=object)
                    buffer = []
        # Zero lines is a valid JSON Lines file (e.g. no interventions this window); the
        # manifest's row count catches a file that should not be empty.
        if buffer:
            yield pd.DataFrame(buffer, columns=[*self.expected, "_row"], dtype=object)
        self.rows_read = row
        if unknown_keys:
            self.drift = [f"{len(unknown_keys)}{'+' if len(unknown_keys) >= 1000 else ''} "
                          "key(s) outside the contract"]


def _kind(exc: Exception) -> str:
    """What went wrong, in our words: Arrow's own message may quote the row."""
    text = str(exc)
    if isinstance(exc, UnicodeDecodeError) or "UTF8" in text or "UTF-8" in text:
        return "bytes that are not valid in the encoding"
    if "straddl" in text or "block" in text:
        return f"a row longer than {BLOCK_SIZE >> 20} MiB"
    return "malformed CSV"


class XlsxSheetSource(RawSource):
    """One sheet of an Excel workbook, read by calamine (Rust) and yielded in frames.

    calamine parses a sheet about ten times faster than openpyxl's read-only mode, which
    was most of the Excel profile's ingest time. Its cell values are made to look like
    openpyxl's so the profile's conversions see what a spreadsheet user typed:
    empty cells are None (not ""), whole numbers are int (a school code 40811, not 40811.0).
    Dates stay dates; the profile accepts date and datetime alike.
    """

    def __init__(self, path: Path, sheet: str, expected_columns: list[str],
                 label: str | None = None):
        super().__init__(path, expected_columns)
        self.sheet = sheet
        # The workbook's name when it is a plain token, else the sheet alone (contract names).
        name = label or file_label(path.name, "workbook")
        self.label = f"{name}[{sheet}]" if not name.startswith("the ") else f"the {sheet} sheet"

    def frames(self) -> Iterator[pd.DataFrame]:
        book = None
        try:
            book = open_workbook(self.path)
            if self.sheet not in book.sheet_names:
                raise DropError(f"workbook has no sheet '{self.sheet}'", file=self.label)
            rows = book.get_sheet_by_name(self.sheet).iter_rows()  # the sheet, parsed whole
        except DropError:
            raise
        except Exception as exc:  # calamine raises its own types for a damaged file
            raise DropError(f"cannot be opened as an Excel workbook ({type(exc).__name__})",
                            file=self.label) from exc
        finally:
            if book is not None:
                book.close()  # the parsed sheet stays readable; the file handle goes
        header = next(rows, None)
        if header is None:
            raise DropError("sheet is empty (no header row)", file=self.label)
        names = [str(c).strip() if c is not None else "" for c in map(_cell, header)]
        self.check_header(names, position=lambda i: f"column {_column_letters(i)}")
        wanted = [names.index(c) for c in self.expected]
        buffer: list[list] = []
        count = 0
        for number, values in enumerate(rows, start=1):
            picked = [_cell(values[i]) if i < len(values) else None for i in wanted]
            if all(v is None for v in picked) and all(_cell(v) is None for v in values):
                continue  # Excel keeps formatted but empty rows; they are not data
            count += 1
            picked.append(number)
            buffer.append(picked)
            if len(buffer) >= JSON_CHUNK:
                yield pd.DataFrame(buffer, columns=[*self.expected, "_row"], dtype=object)
                buffer = []
        if buffer:
            yield pd.DataFrame(buffer, columns=[*self.expected, "_row"], dtype=object)
        self.rows_read = count


def _column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet user finds the column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def open_workbook(path: Path):
    """A calamine workbook (raises on a file that is not a readable workbook)."""
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path))


def _cell(value: object) -> object:
    """A calamine cell as openpyxl would give it: "" is None, 40811.0 is 40811."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
