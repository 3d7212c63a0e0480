"""What the profile writers share: the drop's view of a simulation (`_Extract`), file names,
Arrow string building in chunks, and the file writer that hashes and counts what it writes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.generator.calendar import _eday, _local_minute, _to_date
from pipelines.generator.simulation import Simulation

_FILE_NAMES = {
    "lesson_marks_csv": {
        "students": "oppilaat.csv",
        "lessons": "tunnit.csv",
        "marks": "merkinnat.csv",
        "interventions": "toimenpiteet.csv",
    },
    "daily_summary_jsonl": {
        "students": "students.jsonl",
        "attendance": "attendance.jsonl",
        "interventions": "interventions.jsonl",
    },
    "weekly_totals_xlsx": {"workbook": "poissaolot_viikoittain.xlsx"},
}
_CHUNK_ROWS = 1_000_000
_LARGE = pa.large_string()


@dataclass(frozen=True)
class _Extract:
    """What one drop contains: the simulation seen through a coverage window at a time."""

    sim: Simulation
    code: str
    profile: str
    coverage: tuple[date, date]
    extracted_at: datetime  # aware, Helsinki
    encoding: str

    @property
    def cutoff(self) -> int:
        return _local_minute(self.extracted_at)

    @property
    def as_of(self) -> int:
        return _eday(self.extracted_at.date())

    def pupils_visible(self) -> np.ndarray:
        """Pupils the source system knows at extraction: enrolled on or before that day."""
        return np.flatnonzero(self.sim.pupils.enrolled_from.astype(np.int64) <= self.as_of)

    def enrolled_to(self) -> np.ndarray:
        """Leaving dates as known at extraction (later departures still look ongoing)."""
        to = self.sim.pupils.enrolled_to
        return np.where(to.astype(np.int64) > self.as_of, np.datetime64("NaT"), to)

    def pupil_day_rows(self) -> np.ndarray:
        lo, hi = _eday(self.coverage[0]), _eday(self.coverage[1])
        eday = self.sim.days.astype(np.int64)[self.sim.pupil_days.day]
        return np.flatnonzero((eday >= lo) & (eday <= hi) & (eday <= self.as_of))

    def interventions(self) -> np.ndarray:
        lo, hi = _eday(self.coverage[0]), _eday(self.coverage[1])
        eday = self.sim.interventions.date.astype(np.int64)
        return np.flatnonzero((eday >= lo) & (eday <= min(hi, self.as_of)))


def _fi_date(value: date) -> str:
    return f"{value.day}.{value.month}.{value.year}"


def _date_strings(edays: Iterable[int], style: str) -> list[str]:
    dates = [_to_date(e) for e in edays]
    return [_fi_date(d) if style == "fi" else d.isoformat() for d in dates]


def _lookup(strings: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(strings, _LARGE).take(pa.array(index, pa.int64()))


def _join(columns: Sequence[pa.Array | str], sep: str) -> pa.Array:
    args = [pa.scalar(c, _LARGE) if isinstance(c, str) else c for c in columns]
    return pc.binary_join_element_wise(*args, pa.scalar(sep, _LARGE))


def _as_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), _LARGE)


def _string_bytes(lines: pa.Array) -> memoryview:
    """The concatenated bytes of a string array, without copying value by value."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    lines = lines.cast(_LARGE)
    _, offsets_buf, data_buf = lines.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return memoryview(data_buf)[int(offsets[0]) : int(offsets[-1])]


class _HashingFile:
    """A binary file that hashes what it writes and counts data rows."""

    def __init__(self, path: Path) -> None:
        self.path, self.rows = path, 0
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._hash = hashlib.sha256()

    def write(self, data: bytes | memoryview, rows: int = 0) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.rows += rows

    def close(self) -> dict:
        self._file.close()
        return {"path": self.path.name, "sha256": self._hash.hexdigest(), "rows": self.rows}


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8")


def _write_lines(out: _HashingFile, build: Iterator[pa.Array], encoding: str) -> None:
    """Write chunks of ready lines (each ending in newline) in the file's encoding."""
    for lines in build:
        data: bytes | memoryview = _string_bytes(lines)
        if not _is_utf8(encoding):
            raw = bytes(data)
            data = raw if raw.isascii() else raw.decode("utf-8").encode(encoding)
        out.write(data, len(lines))


def _chunks(rows: np.ndarray) -> Iterator[np.ndarray]:
    for lo in range(0, len(rows), _CHUNK_ROWS):
        yield rows[lo : lo + _CHUNK_ROWS]
