"""The extract ledger: one immutable Parquet row per drop seen, the commit point of a load."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.tables import LEDGER

STATUSES = ("loaded", "superseded", "duplicate", "quarantined")
LEDGER_SCHEMA = LEDGER.schema()


@dataclass
class LedgerEntry:
    municipality_code: str
    extract_id: str
    load_id: str
    status: str
    manifest_sha256: str
    drop_path: str
    started_at: datetime
    finished_at: datetime | None = None
    profile: str | None = None
    extracted_at: datetime | None = None
    coverage_start: date | None = None
    coverage_end: date | None = None
    reason: str | None = None
    file_sha256: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    schema_drift: str | None = None
    top_reasons: str | None = None
    rows_duplicate: int = 0  # identical repeated rows, counted once (DESIGN §3)
    duplicates: str | None = None  # JSON: file -> how many of them


def now() -> datetime:
    return datetime.now(UTC)


def write_entry(ledger_dir: Path, entry: LedgerEntry) -> Path:
    """Write one ledger row atomically (temp file + rename); a duplicate gets its own file."""
    assert entry.status in STATUSES, entry.status
    entry.finished_at = entry.finished_at or now()
    folder = ledger_dir / entry.municipality_code
    folder.mkdir(parents=True, exist_ok=True)
    name = entry.load_id
    if entry.status == "duplicate":
        name += f"__duplicate-{entry.finished_at:%Y%m%dT%H%M%S%f}"
    path = folder / f"{name}.parquet"
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    # pyarrow keeps the wall-clock time of an aware datetime whose zone is not UTC, so an
    # extract stamped +03:00 would be stored three hours late: convert to UTC first.
    row = {key: value.astimezone(UTC) if isinstance(value, datetime) else value
           for key, value in asdict(entry).items()}
    pq.write_table(pa.Table.from_pylist([row], schema=LEDGER_SCHEMA), tmp)
    os.replace(tmp, path)
    return path


def ensure_schema_file(ledger_dir: Path) -> None:
    """A zero-row file so readers of an empty ledger still see its columns."""
    path = ledger_dir / "_schema.parquet"
    if not path.exists():
        ledger_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(LEDGER_SCHEMA.empty_table(), path)


def read_entries(ledger_dir: Path, municipality_code: str | None = None) -> list[dict]:
    """Ledger rows, optionally of one municipality (small: one row per drop)."""
    folder = ledger_dir / municipality_code if municipality_code else ledger_dir
    if not folder.is_dir():
        return []
    rows: list[dict] = []
    for path in sorted(folder.rglob("*.parquet")):
        if path.name != "_schema.parquet":
            rows.extend(pq.read_table(path, schema=LEDGER_SCHEMA).to_pylist())
    return rows


def seen_load_ids(ledger_dir: Path) -> set[str]:
    """load_ids that have a ledger row: their drops are no longer pending."""
    if not ledger_dir.is_dir():
        return set()
    return {p.name.split("__duplicate-")[0].removesuffix(".parquet")
            for p in ledger_dir.glob("*/*.parquet")}
