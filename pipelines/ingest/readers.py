"""Raw readers shared by the profiles: stream CSV, JSON Lines and Excel as string frames.

Each yields pandas frames holding only the contract's columns, as text, plus `_row` (the
1-based data row of the file, header excluded) so every rejection can name its row. Columns
outside the contract are never read into a frame; they are reported as schema drift by position
(a header can hold a name), never by their text.
"""

from __future__ import annotations

import csv
import io
import numbers
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from pipelines.ingest import identity_codes
from pipelines.ingest.errors import DropError, file_label

BLOCK_SIZE = 8 << 20  # bytes per CSV block: bounds memory whatever the file's size
MAX_HEADER_BYTES = 1 << 20
SHEET_CHUNK = 50_000  # rows per Excel frame


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

    def values_to_check(self, frame: pd.DataFrame) -> Iterator[tuple[str, pd.Series]]:
        """The file's own text in a frame, by column, for the identity-code guard."""
        for column in self.expected:
            if column in frame:
                yield column, frame[column]

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


# JSON types a JSON Lines key can be declared to have (the reasons name them).
TEXT, NUMBER, OBJECT = "a string", "a number", "an object"
_ARROW_TYPE = {TEXT: pa.string(), NUMBER: pa.float64()}
# Bytes that make Arrow read a block differently from a JSON parser that follows the RFC, as
# orjson (the line reader) does: a byte order mark (Arrow skips it, orjson refuses it).
_BOM = b"\xef\xbb\xbf"
MAX_JSON_DEPTH = 16  # a daily summary nests 2 deep
MAX_JSON_KEYS = 256  # colons per line; a daily summary has about 10


class JsonLinesSource(RawSource):
    """One JSON object per line, UTF-8 (DESIGN §4.2). Wrong shapes are row rejects.

    `types` declares each key's JSON type and whether null (or a missing key) is allowed; a
    line with a key of another type is rejected, one reason per key. A key declared an object
    of numbers (`explode`) is not yielded as a column: its entries are, as `entries`
    (`_row`, `key`, `value`) beside the frame just yielded, every value a number.

    The file is read in blocks of whole lines. Each block is parsed by Arrow's JSON reader into
    columns (no Python object per value); a block whose columns Arrow could not read exactly
    as the contract wants (a line that is not an object or not JSON, a key of another type, a
    null where none may be, an empty line, a count that is no finite number, a line nested
    deeper or with more keys than a daily summary could have) is read again line by line with
    orjson, so every rejected row keeps its own number and reason. Both ways yield the same
    rows: tests/test_profiles.py compares them on a file of every kind of line.
    """

    def __init__(self, path: Path, expected_columns: list[str], label: str | None = None,
                 *, max_line_bytes: int, types: dict[str, tuple[str, bool]],
                 explode: str | None = None, block_size: int = BLOCK_SIZE,
                 arrow: bool = True):
        super().__init__(path, expected_columns, label)
        self.max_line_bytes = max_line_bytes
        self.types = types
        self.explode = explode
        self.block_size = block_size
        self.arrow = arrow  # False reads every block line by line (the reference reading)
        self.columns = [c for c in expected_columns if c != explode]
        self.entries = _entries_frame([], [], [])
        self._unknown_keys: set[str] = set()  # counted, never reported by name; capped
        self.blocks = {"arrow": 0, "lines": 0}  # how each block was read
        self._parse = pajson.ParseOptions(
            explicit_schema=pa.schema([(c, _ARROW_TYPE[types[c][0]]) for c in self.columns]),
            unexpected_field_behavior="infer")

    def values_to_check(self, frame: pd.DataFrame) -> Iterator[tuple[str, pd.Series]]:
        yield from super().values_to_check(frame)
        if self.explode:  # an object's keys are the file's text too (its values are numbers)
            yield self.explode, self.entries["key"]

    def _guard(self, row: int, column: str, texts: list[str]) -> None:
        """A kept column of a line about to be rejected is never written, but an identity
        code in it still quarantines the drop (DESIGN §4.4: any kept column), as it would in
        a loaded line: the writer's guard only sees the lines it is given."""
        if identity_codes.first_with_identity_code(texts) is not None:
            raise DropError(identity_codes.FOUND, file=self.label, row=row,
                            column=self.aliases.get(column, column))

    def frames(self) -> Iterator[pd.DataFrame]:
        row = 0
        with self.path.open("rb") as handle:
            carry = b""
            while True:
                chunk = handle.read(self.block_size)
                data = carry + chunk if carry else chunk
                if chunk:
                    cut = data.rfind(b"\n") + 1
                    block, carry = data[:cut], data[cut:]
                else:  # end of file: a last line without a newline is a line too
                    block, carry = data, b""
                if block:
                    frame, lines = self._block(block, row)
                    row += lines
                    if len(frame):
                        yield frame
                if len(carry) > self.max_line_bytes:
                    raise DropError(f"line is longer than {self.max_line_bytes} bytes",
                                    file=self.label, row=row + 1)
                if not chunk:
                    break
        # Zero lines is a valid JSON Lines file (e.g. no interventions this window); the
        # manifest's row count catches a file that should not be empty.
        self.rows_read = row
        if self._unknown_keys:
            count = len(self._unknown_keys)
            self.drift = [f"{count}{'+' if count >= 1000 else ''} key(s) outside the contract"]

    def _block(self, block: bytes, row: int) -> tuple[pd.DataFrame, int]:
        """The block's frame (rows after `row`) and its number of lines."""
        lines = block.count(b"\n") + (not block.endswith(b"\n"))
        frame = self._arrow_block(block, row, lines) if self.arrow else None
        if frame is None:
            frame = self._line_block(block, row)
            self.blocks["lines"] += 1
        else:
            self.blocks["arrow"] += 1
        return frame, lines

    def _arrow_block(self, block: bytes, row: int, lines: int) -> pd.DataFrame | None:
        """The block read by Arrow, or None where Arrow's reading could differ from a line's."""
        if _BOM in block or not self._lines_look_like_objects(block):
            return None
        if self.explode and b"null" in block:
            return None  # Arrow cannot tell a null count in an object from a missing key
        try:
            table = pajson.read_json(
                io.BytesIO(block), parse_options=self._parse,
                read_options=pajson.ReadOptions(use_threads=False, block_size=len(block) + 1))
        except (pa.ArrowInvalid, UnicodeDecodeError):
            return None  # a line that is not a JSON object, or a key of another type
        if table.num_rows != lines:
            return None  # two objects on one line
        for column in self.columns:
            if table[column].null_count and not self.types[column][1]:
                return None  # null or missing where the contract allows neither
            if self.types[column][0] == NUMBER and not pc.all(pc.is_finite(table[column])).as_py():
                return None  # NaN or Infinity: not JSON
        entries = None
        if self.explode:
            if self.explode not in table.column_names or table[self.explode].null_count:
                return None  # missing on some line (a null would have sent it back already)
            entries = _struct_entries(table[self.explode].combine_chunks(), row)
            if entries is None:
                return None
        if len(self._unknown_keys) < 1000:
            self._unknown_keys.update(n for n in table.column_names if n not in self.expected)
        frame = table.select(self.columns).to_pandas()
        frame["_row"] = np.arange(row + 1, row + lines + 1, dtype=np.int64)
        if entries is not None:
            self.entries = entries
        return frame

    def _lines_look_like_objects(self, block: bytes) -> bool:
        """Every line starts with `{` (so none is empty or blank, which Arrow would skip), none
        is longer than allowed, and the block is shallow and narrow: Arrow slows down without
        bound on deep nesting (5,000 levels in one line did not finish in a minute) and makes a
        column of every distinct key. A hostile line of either kind goes to the line reader,
        where orjson stops at 1,024 levels and only the contract's keys are kept."""
        data = np.frombuffer(block, dtype=np.uint8)
        newlines = np.flatnonzero(data == 10)
        starts = np.concatenate(([0], newlines + 1))
        ends = np.concatenate((newlines, [len(block)]))
        if starts[-1] == len(block):  # the block ends with a newline: no line after it
            starts, ends = starts[:-1], ends[:-1]
        if not ((data[starts] == ord("{")).all()
                and (ends - starts).max(initial=0) <= self.max_line_bytes):
            return False
        # Brackets and colons inside strings count too: that can only send a block back.
        opened = (data == ord("{")) | (data == ord("["))
        closed = (data == ord("}")) | (data == ord("]"))
        depth = np.cumsum(opened.astype(np.int32) - closed.astype(np.int32))
        colons = np.add.reduceat((data == ord(":")).astype(np.int32), starts)
        return bool(depth.max(initial=0) <= MAX_JSON_DEPTH
                    and colons.max(initial=0) <= MAX_JSON_KEYS)

    def _line_block(self, block: bytes, row: int) -> pd.DataFrame:
        """The block line by line: each line's problems become its own rejects."""
        records: list[list] = []
        keys: list[str] = []
        values: list[float] = []
        entry_rows: list[int] = []
        pieces = block.split(b"\n")
        if block.endswith(b"\n"):
            pieces.pop()
        for line in pieces:
            row += 1
            if len(line) > self.max_line_bytes:
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
            if len(self._unknown_keys) < 1000:
                self._unknown_keys.update(k for k in record if k not in self.expected)
            good = True
            for column in self.expected:
                wanted, nullable = self.types[column]
                found = json_type(record.get(column))
                if found != wanted and not (found is None and nullable):
                    self._guard(row, column, _texts(record.get(column)))
                    self.reject(row, column, f"expected {wanted}, found {found or 'null/missing'}")
                    good = False
            if not good:
                continue
            if self.explode:
                counts = record[self.explode]
                if any(json_type(v) != NUMBER for v in counts.values()):
                    self._guard(row, self.explode, _texts(counts))
                    # Neither the code nor the count is quoted: both come from the file.
                    self.reject(row, self.explode, "a count in the object is not a number")
                    continue
                for key, value in counts.items():
                    keys.append(str(key))
                    values.append(float(value))
                    entry_rows.append(row)
            records.append([*(record.get(c) for c in self.columns), row])
        if self.explode:
            self.entries = _entries_frame(entry_rows, keys, values)
        return pd.DataFrame(records, columns=[*self.columns, "_row"], dtype=object).astype(
            {"_row": "int64"})


def _texts(value: object, depth: int = 0) -> list[str]:
    """Every string in a parsed JSON value, keys included (to a depth of MAX_JSON_DEPTH)."""
    if isinstance(value, str):
        return [value]
    if depth >= MAX_JSON_DEPTH:
        return []
    if isinstance(value, dict):
        return [*value.keys(), *(t for v in value.values() for t in _texts(v, depth + 1))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v, depth + 1)]
    return []


def json_type(value: object) -> str | None:
    """The JSON type of a parsed value, in the words of the reasons (None for null)."""
    if value is None:
        return None
    if isinstance(value, str):
        return TEXT
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return NUMBER
    if isinstance(value, dict):
        return OBJECT
    return type(value).__name__


def _struct_entries(struct: pa.Array, row: int) -> pd.DataFrame | None:
    """(`_row`, `key`, `value`) of an Arrow struct column of numbers, or None if a field
    holds anything else (text, an object, true/false, NaN)."""
    if not pa.types.is_struct(struct.type):
        return None
    rows, keys, values = [], [], []
    line_rows = np.arange(row + 1, row + len(struct) + 1, dtype=np.int64)
    for index in range(struct.type.num_fields):
        field = struct.type.field(index)
        if not (pa.types.is_integer(field.type) or pa.types.is_floating(field.type)):
            return None
        child = struct.field(index)
        if not pc.all(pc.is_finite(child)).as_py():
            return None
        present = child.is_valid()
        rows.append(line_rows[present.to_numpy(zero_copy_only=False)])
        values.append(child.filter(present).cast(pa.float64()).to_numpy(zero_copy_only=False))
        keys.append(np.full(len(rows[-1]), field.name, dtype=object))
    if not rows:
        return _entries_frame([], [], [])
    frame = pd.DataFrame({"_row": np.concatenate(rows),
                          "key": pd.Series(np.concatenate(keys), dtype="str"),
                          "value": np.concatenate(values)})
    return frame.sort_values("_row", kind="stable", ignore_index=True)


def _entries_frame(rows: list[int], keys: list[str], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"_row": np.asarray(rows, dtype=np.int64),
                         "key": pd.Series(keys, dtype="str"),
                         "value": np.asarray(values, dtype=np.float64)})


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
            if len(buffer) >= SHEET_CHUNK:
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
