"""Resource limits of one drop, checked before the work (DESIGN §3).

Sizes, line lengths, nesting and spreadsheet extents become quarantine reasons here, so no
drop can turn into an out-of-memory or a hang later. What these checks cannot foresee is
bounded by the child process each drop is read in (`isolation.py`).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import orjson

from pipelines.ingest.errors import DropError

GIB = 1 << 30


@dataclass(frozen=True)
class IngestLimits:
    """Defaults sized for the largest municipality (Helsinki) with room to spare."""

    max_manifest_bytes: int = 1 << 20
    max_file_bytes: int = 20 * GIB  # any one data file
    max_rows: int = 500_000_000  # data rows one file (or sheet) may announce
    max_line_bytes: int = 1 << 20  # one JSON Lines record (a daily summary is ~200 bytes)
    max_sheet_columns: int = 64  # a workbook sheet's width (the widest contract sheet has 9)
    max_unpacked_bytes: int = 40 * GIB  # a workbook's parts once decompressed
    max_compression_ratio: int = 200  # a part that inflates more than this is a zip bomb
    memory_bytes: int = 16 * GIB  # address space of the child reading one drop
    seconds: float = 3600.0  # wall time of one drop


def read_json_document(path: Path, max_bytes: int, *, label: str) -> object:
    """A small JSON document (a manifest) read with a size cap; orjson caps nesting at 1024
    levels and reports it as a decode error, never as a RecursionError."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DropError(f"is larger than {max_bytes} bytes", file=label)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise DropError("cannot be read", file=label) from exc
    if len(data) > max_bytes:
        raise DropError(f"is larger than {max_bytes} bytes", file=label)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):
            raise DropError("is nested too deeply to be a manifest", file=label) from exc
        raise DropError("is not valid UTF-8 JSON", file=label) from exc


def check_file_size(path: Path, limits: IngestLimits, *, label: str) -> None:
    if path.stat().st_size > limits.max_file_bytes:
        raise DropError(f"is larger than the {limits.max_file_bytes / GIB:g} GiB limit of one "
                        "file", file=label)


# A cell reference beyond column BL (the 64th): three letters, or two from CA..ZZ or BM..BZ.
_WIDE_CELL = re.compile(rb'r="(?:[A-Z]{3}|[C-Z][A-Z]|B[M-Z])[0-9]')
_CHUNK = 4 << 20


def check_workbook(path: Path, limits: IngestLimits, *, label: str) -> None:
    """Refuse a workbook that is a zip bomb or whose sheets reach beyond the width limit.

    The Excel reader allocates the whole rectangle from A1 to the farthest cell, so one cell
    at XFD1048576 would cost it 17 billion cells: the sheets' XML is scanned for such
    references (a fast literal search) before the reader ever sees the file.
    """
    assert limits.max_sheet_columns == 64, "_WIDE_CELL encodes a 64-column limit"
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DropError("cannot be opened as an Excel workbook", file=label) from exc
    with book:
        members = book.infolist()
        if sum(m.file_size for m in members) > limits.max_unpacked_bytes:
            raise DropError(f"unpacks to more than {limits.max_unpacked_bytes / GIB:g} GiB",
                            file=label)
        for member in members:
            if member.file_size > 10 << 20 and \
                    member.file_size > limits.max_compression_ratio * max(member.compress_size, 1):
                raise DropError("is compressed more than a workbook can be (a zip bomb)",
                                file=label)
        # Every worksheet part, not only the contract's sheets: cheaper than resolving names
        # through the workbook's relationships, which a hostile file could point anywhere.
        sheet_parts = [name for name in book.namelist()
                       if name.startswith("xl/worksheets/") and name.endswith(".xml")]
        for member in sheet_parts:
            try:
                with book.open(member) as stream:
                    tail = b""
                    while block := stream.read(_CHUNK):
                        if _WIDE_CELL.search(tail + block):
                            raise DropError(
                                f"has a cell beyond column BL (more than "
                                f"{limits.max_sheet_columns} columns)", file=label)
                        tail = block[-16:]
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DropError("cannot be opened as an Excel workbook", file=label) from exc

