"""Ingest one drop end to end: verify, decide (load, supersede, duplicate, quarantine), commit.

Nothing of a drop becomes visible until its ledger row is written: canonical files are moved
into place first, and dbt only reads extracts whose ledger row says `loaded`.

A drop is hostile input (DESIGN §3). Its files are read in a child process with a memory
ceiling and a time limit (isolation.py), so nothing in them can crash or hang the process
that loads the other municipalities; one municipality's drops are ingested under its own lock,
in a staging folder no other run shares, so concurrent runs cannot corrupt each other.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import alerts, locks
from pipelines.config import Settings
from pipelines.ingest import ledger
from pipelines.ingest.code_maps import known_municipalities
from pipelines.ingest.errors import DropError
from pipelines.ingest.isolation import ChildFailed, run_isolated
from pipelines.ingest.landing import (
    Drop,
    Manifest,
    UnattributedDrop,
    peek_extracted_at,
    read_manifest,
    unattributed_drops,
    verify_checksums,
)
from pipelines.ingest.limits import IngestLimits
from pipelines.ingest.profiles import load_readers, reader_for
from pipelines.ingest.pseudonym import Pseudonymiser
from pipelines.ingest.writer import CANONICAL_SCHEMAS, ExtractWriter, WriteResult
from pipelines.tables import PULL_STATUS, REJECTED_ROWS

UNATTRIBUTED = "_unattributed"


def ensure_layout(settings: Settings) -> None:
    """Owner-only folders and zero-row schema files, so dbt can read the canonical tables
    before any drop arrives."""
    for folder in (settings.canonical, settings.ledger, settings.quarantine):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for table, schema in CANONICAL_SCHEMAS.items():
        path = settings.canonical / table / "_schema.parquet"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pq.write_table(schema.empty_table(), path)
    ledger.ensure_schema_file(settings.ledger)
    empty_rejects = settings.quarantine / "_schema.parquet"
    if not empty_rejects.exists():
        pq.write_table(_rejects_with_context().empty_table(), empty_rejects)
    empty_pull = settings.warehouse / "pull" / "_schema.parquet"
    if not empty_pull.exists():
        empty_pull.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pq.write_table(PULL_STATUS.schema().empty_table(), empty_pull)


def _rejects_with_context() -> pa.Schema:
    return REJECTED_ROWS.schema()


def ingest_drop(drop: Drop, settings: Settings, key: bytes) -> ledger.LedgerEntry:
    """Process one drop and record the outcome in the ledger; never raises for bad input.

    Runs under the municipality's ingest lock: a second process ingesting the same
    municipality (another `absence run`, a run the Dagster daemon launched) waits.
    """
    ensure_layout(settings)
    lock = locks.lock_path(settings.warehouse, f"ingest-{drop.municipality_code}")
    with locks.hold(lock):
        return _ingest_locked(drop, settings, key, settings.limits)


def _ingest_locked(drop: Drop, settings: Settings, key: bytes,
                   limits: IngestLimits) -> ledger.LedgerEntry:
    entry = ledger.LedgerEntry(
        municipality_code=drop.municipality_code, extract_id=drop.extract_id,
        load_id=drop.load_id(), status="quarantined", manifest_sha256=drop.manifest_sha256(),
        drop_path=str(drop.path) if drop.folder_name_valid
        else str(drop.path.parent / "(folder name is not a valid extract id)"),
        started_at=ledger.now(),
        # Known even when the drop turns out broken, so it can be ordered among the others.
        extracted_at=peek_extracted_at(drop) if drop.folder_name_valid else None)
    # A staging folder of this process alone: never shared with a concurrent run.
    work = settings.warehouse / ".staging" / f"{os.getpid()}-{uuid.uuid4().hex}"
    try:
        _ingest(drop, settings, key, entry, work, limits)
    except (DropError, ChildFailed) as exc:
        entry.status = "quarantined"
        entry.reason = exc.describe() if isinstance(exc, DropError) else str(exc)
        _write_quarantine(settings, entry, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ledger.write_entry(settings.ledger, entry)
    return entry


def _ingest(drop: Drop, settings: Settings, key: bytes, entry: ledger.LedgerEntry,
            work: Path, limits: IngestLimits) -> None:
    manifest = read_manifest(drop, known_municipalities(settings.seeds), now=entry.started_at,
                             limits=limits)
    entry.profile = manifest.profile
    entry.extracted_at = manifest.extracted_at
    entry.coverage_start, entry.coverage_end = manifest.coverage_start, manifest.coverage_end
    entry.file_sha256 = json.dumps(verify_checksums(manifest), sort_keys=True)

    history = ledger.read_entries(settings.ledger, drop.municipality_code)
    loaded = [row for row in history if row["status"] == "loaded"]
    if any(row["load_id"] == entry.load_id for row in loaded):
        entry.status, entry.reason = "duplicate", "identical extract already loaded"
        return
    newer = [row for row in loaded if row["extracted_at"] > manifest.extracted_at]
    if newer:
        latest = max(newer, key=lambda row: row["extracted_at"])
        entry.status = "superseded"
        entry.reason = (f"extract {latest['extract_id']} extracted at "
                        f"{latest['extracted_at']:%Y-%m-%dT%H:%M:%SZ} is already loaded")
        return

    work.mkdir(parents=True, mode=0o700)
    load_readers()  # here, not again in every child
    result: WriteResult = run_isolated(_read_drop, manifest, drop.extract_id, key, work,
                                       settings.seeds, limits, limits=limits)
    entry.rows_read = result.rows_read
    entry.rows_rejected = result.rows_rejected
    entry.rows_loaded = sum(result.rows_loaded.values())
    entry.rows_duplicate = sum(result.duplicates.values())
    entry.duplicates = json.dumps(result.duplicates, sort_keys=True) if result.duplicates \
        else None
    entry.schema_drift = ", ".join(result.schema_drift) or None
    entry.top_reasons = json.dumps(result.top_reasons, ensure_ascii=False)

    _reconcile(manifest, result)
    share = result.rows_rejected / max(result.rows_read, 1)
    if share > settings.reject_threshold:
        raise DropError(
            f"{result.rows_rejected} of {result.rows_read} rows rejected ({share:.1%}), above "
            f"the {settings.reject_threshold:.0%} threshold; most common: "
            + "; ".join(f"{reason} ×{count}" for reason, count in result.top_reasons[:3]))

    for table in CANONICAL_SCHEMAS:
        target = settings.canonical / table / drop.municipality_code / f"{drop.extract_id}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.replace(result.canonical_paths[table], target)
    entry.status = "loaded"
    if result.rows_rejected:
        _write_quarantine(settings, entry, work)


def _read_drop(manifest: Manifest, extract_id: str, key: bytes, work: Path, seeds: Path,
               limits: IngestLimits) -> WriteResult:
    """Everything that reads the drop's files; runs in the child process."""
    writer = ExtractWriter(work, manifest, extract_id,
                           Pseudonymiser(key, manifest.municipality_code),
                           seeds=seeds, limits=limits)
    reader_for(manifest.profile)(manifest, writer)
    return writer.finish()


def _reconcile(manifest: Manifest, result: WriteResult) -> None:
    """The last check before the ledger row: every file (every sheet) holds the data rows its
    manifest announces, and every canonical file holds what finalising counted. A staged file
    damaged by anything (a concurrent run, a full disk) can so never be recorded `loaded`."""
    for entry in manifest.files.values():
        for source in result.sources:
            if source.path != entry.path:
                continue
            expected = entry.rows.get(source.sheet) if isinstance(entry.rows, dict) \
                else entry.rows
            if expected is not None and expected != source.rows_read:
                raise DropError(f"manifest says {expected} data rows, the "
                                f"{'sheet' if source.sheet else 'file'} has {source.rows_read}",
                                file=source.label)
    for table, path in result.canonical_paths.items():
        if pq.read_metadata(path).num_rows != result.rows_loaded[table]:
            raise DropError(f"the staged {table} file does not hold the rows finalising "
                            "counted; nothing was loaded")


def _write_quarantine(settings: Settings, entry: ledger.LedgerEntry, work: Path) -> None:
    """Record why, and which rows; the original files stay untouched in the landing zone."""
    folder = settings.quarantine / entry.municipality_code / entry.load_id
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    rejects = work / "rejected_rows.parquet"
    if rejects.exists():
        table = pq.read_table(rejects)
        context = pa.table({
            "municipality_code": [entry.municipality_code] * table.num_rows,
            "extract_id": [entry.extract_id] * table.num_rows,
            "load_id": [entry.load_id] * table.num_rows,
        })
        for name in table.column_names:
            context = context.append_column(name, table[name])
        pq.write_table(context.cast(_rejects_with_context()), folder / "rejected_rows.parquet")
    (folder / "reason.json").write_text(json.dumps({
        "municipality_code": entry.municipality_code, "extract_id": entry.extract_id,
        "status": entry.status, "reason": entry.reason, "drop_path": entry.drop_path,
        "rows_rejected": entry.rows_rejected,
    }, indent=2, ensure_ascii=False), "utf-8")


def record_unattributed(settings: Settings) -> list[UnattributedDrop]:
    """Quarantine records for drops under folders that are no known municipality; returns
    the ones seen for the first time. They get no ledger row (nothing dbt reads), so they can
    never break the build, and their files stay where they are."""
    new = []
    for drop in unattributed_drops(settings.landing, known_municipalities(settings.seeds)):
        folder = settings.quarantine / UNATTRIBUTED / drop.drop_id
        if (folder / "reason.json").exists():
            continue
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        (folder / "reason.json").write_text(json.dumps({
            "drop_id": drop.drop_id, "status": "quarantined", "reason": drop.reason,
            "folder": drop.shown_folder, "seen_at": ledger.now().isoformat(),
        }, indent=2), "utf-8")
        new.append(drop)
        alerts.send(alerts.record(
            "drop_quarantined",
            f"a drop under a folder that is no known municipality "
            f"({drop.shown_folder or drop.drop_id}) was quarantined: {drop.reason}",
            municipality=None, drop_id=drop.drop_id, reason=drop.reason), settings)
    return new
