"""Ingest one drop end to end: verify, decide (load, supersede, duplicate, quarantine), commit.

Nothing of a drop becomes visible until its ledger row is written: canonical files are moved
into place first, and dbt only reads extracts whose ledger row says `loaded`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import Settings
from pipelines.ingest import ledger
from pipelines.ingest.code_maps import known_municipalities
from pipelines.ingest.errors import DropError
from pipelines.ingest.landing import Drop, peek_extracted_at, read_manifest, verify_checksums
from pipelines.ingest.pseudonym import Pseudonymiser
from pipelines.ingest.writer import CANONICAL_SCHEMAS, REJECTS_SCHEMA, ExtractWriter
from pipelines.profiles import reader_for


def ensure_layout(settings: Settings) -> None:
    """Zero-row schema files so dbt can read the canonical tables before any drop arrives."""
    for table, schema in CANONICAL_SCHEMAS.items():
        path = settings.canonical / table / "_schema.parquet"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table(), path)
    ledger.ensure_schema_file(settings.ledger)
    empty_rejects = settings.quarantine / "_schema.parquet"
    if not empty_rejects.exists():
        empty_rejects.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_rejects_with_context().empty_table(), empty_rejects)


def _rejects_with_context() -> pa.Schema:
    return pa.schema([("municipality_code", pa.string()), ("extract_id", pa.string()),
                      ("load_id", pa.string()), *REJECTS_SCHEMA])


def ingest_drop(drop: Drop, settings: Settings, key: bytes) -> ledger.LedgerEntry:
    """Process one drop and record the outcome in the ledger; never raises for bad input."""
    ensure_layout(settings)
    entry = ledger.LedgerEntry(
        municipality_code=drop.municipality_code, extract_id=drop.extract_id,
        load_id=drop.load_id(), status="quarantined", manifest_sha256=drop.manifest_sha256(),
        drop_path=str(drop.path), started_at=ledger.now(),
        # Known even when the drop turns out broken, so it can be ordered among the others.
        extracted_at=peek_extracted_at(drop))
    work = settings.warehouse / ".staging" / drop.municipality_code / entry.load_id
    shutil.rmtree(work, ignore_errors=True)
    try:
        _ingest(drop, settings, key, entry, work)
    except DropError as exc:
        entry.status = "quarantined"
        entry.reason = exc.describe()
        _write_quarantine(settings, entry, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ledger.write_entry(settings.ledger, entry)
    return entry


def _ingest(drop: Drop, settings: Settings, key: bytes, entry: ledger.LedgerEntry,
            work: Path) -> None:
    manifest = read_manifest(drop, known_municipalities())
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

    writer = ExtractWriter(work, manifest, drop.extract_id,
                           Pseudonymiser(key, manifest.municipality_code))
    reader_for(manifest.profile)(manifest, writer)
    _check_row_counts(manifest, writer)
    result = writer.finish()
    entry.rows_read = result.rows_read
    entry.rows_rejected = result.rows_rejected
    entry.rows_loaded = sum(result.rows_loaded.values())
    entry.schema_drift = ", ".join(result.schema_drift) or None
    entry.top_reasons = json.dumps(result.top_reasons, ensure_ascii=False)

    share = result.rows_rejected / max(result.rows_read, 1)
    if share > settings.reject_threshold:
        raise DropError(
            f"{result.rows_rejected} of {result.rows_read} rows rejected ({share:.1%}), above "
            f"the {settings.reject_threshold:.0%} threshold; most common: "
            + "; ".join(f"{reason} ×{count}" for reason, count in result.top_reasons[:3]))

    for table in CANONICAL_SCHEMAS:
        target = settings.canonical / table / drop.municipality_code / f"{drop.extract_id}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(result.canonical_paths[table], target)
    entry.status = "loaded"
    if result.rows_rejected:
        _write_quarantine(settings, entry, work)


def _check_row_counts(manifest, writer: ExtractWriter) -> None:
    by_path = {source.path: source for source in writer.sources}
    for entry in manifest.files.values():
        expected = entry.rows
        if isinstance(expected, dict):
            continue  # per-sheet counts are checked by the workbook reader
        source = by_path.get(entry.path)
        if source is not None and source.rows_read != expected:
            raise DropError(f"manifest says {expected} data rows, the file has {source.rows_read}",
                            file=entry.path.name)


def _write_quarantine(settings: Settings, entry: ledger.LedgerEntry, work: Path) -> None:
    """Record why, and which rows; the original files stay untouched in the landing zone."""
    folder = settings.quarantine / entry.municipality_code / entry.load_id
    folder.mkdir(parents=True, exist_ok=True)
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
