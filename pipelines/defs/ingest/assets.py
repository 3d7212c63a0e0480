"""Ingest: one run turns one municipality's drop into canonical Parquet and a ledger row."""


import json

import dagster as dg
import pyarrow.parquet as pq

from pipelines import alerts
from pipelines.defs.ingest.partitions import municipality_partitions
from pipelines.defs.resources import OWNERS, AbsenceSettings, tags
from pipelines.ingest import ledger
from pipelines.ingest.code_maps import known_municipalities
from pipelines.ingest.extract import ingest_drop
from pipelines.ingest.landing import pending_drops, scan_landing
from pipelines.ingest.pseudonym import load_key
from pipelines.tables import CANONICAL_TABLES

LEDGER_KEY = dg.AssetKey("extract_ledger")
QUARANTINE_KEY = dg.AssetKey("rejected_rows")
CANONICAL_KEYS = {table: dg.AssetKey(["canonical", table]) for table in CANONICAL_TABLES}


class IngestConfig(dg.Config):
    """Which drop to load; empty = every pending drop of the partition's municipality."""

    extract_id: str = ""


@dg.multi_asset(
    specs=[
        *[dg.AssetSpec(key, description=f"Canonical `{table}` Parquet per municipality and "
                       "extract (pseudonymised, validated).", skippable=True,
                       group_name="ingest", kinds={"parquet"}, owners=OWNERS,
                       tags=tags("ingest"))
          for table, key in CANONICAL_KEYS.items()],
        dg.AssetSpec(LEDGER_KEY, description="Extract ledger: one row per drop seen, with its "
                     "status (loaded, superseded, duplicate, quarantined) and reason.",
                     group_name="ingest", kinds={"parquet"}, owners=OWNERS,
                     tags=tags("ingest")),
        dg.AssetSpec(QUARANTINE_KEY, description="Rows rejected at ingest: file, data row, "
                     "column and reason (quarantine/<mmm>/<load_id>/rejected_rows.parquet).",
                     group_name="ingest", kinds={"parquet"}, skippable=True,
                     owners=OWNERS, tags=tags("ingest")),
    ],
    check_specs=[
        dg.AssetCheckSpec("drop_accepted", asset=LEDGER_KEY,
                          description="The drop was not quarantined whole (DESIGN §3)."),
        dg.AssetCheckSpec("rows_valid", asset=LEDGER_KEY,
                          description="Pandera and cross-file checks rejected no row."),
    ],
    partitions_def=municipality_partitions,
    can_subset=False,
)
def ingest_extract(context: dg.AssetExecutionContext, config: IngestConfig,
                   absence: AbsenceSettings):
    """Parse, guard, pseudonymise, validate and write one municipality's pending drop(s)."""
    settings = absence.settings()
    known = known_municipalities(settings.seeds)
    municipality = context.partition_key
    if config.extract_id:
        # Found by scanning, never by joining the configured text onto a path.
        drops = [d for d in scan_landing(settings.landing, known)
                 if d.municipality_code == municipality and d.extract_id == config.extract_id]
    else:
        drops = pending_drops(settings.landing, settings.ledger, known, municipality)
    if not drops:
        raise dg.Failure(f"No such pending drop of municipality {municipality} in "
                         f"{settings.landing}")
    key = load_key(settings.warehouse, settings.pseudonym_key)
    entries = [ingest_drop(drop, settings, key) for drop in drops]
    last = entries[-1]
    loaded = [e for e in entries if e.status == "loaded"]
    if loaded:
        for table, asset_key in CANONICAL_KEYS.items():
            yield dg.MaterializeResult(asset_key=asset_key, metadata={
                "extract_id": loaded[-1].extract_id,
                "path": dg.MetadataValue.path(str(settings.canonical / table / municipality)),
            })
    yield dg.MaterializeResult(asset_key=LEDGER_KEY, metadata=_ledger_metadata(entries, settings))
    if any(e.rows_rejected for e in entries):
        yield dg.MaterializeResult(asset_key=QUARANTINE_KEY, metadata={
            "rows_rejected": sum(e.rows_rejected for e in entries),
            "path": dg.MetadataValue.path(str(settings.quarantine / municipality)),
        })
    for entry in entries:
        context.log.info(f"{municipality}/{entry.extract_id}: {entry.status}"
                         + (f" ({entry.reason})" if entry.reason else ""))
    quarantined = [e for e in entries if e.status == "quarantined"]
    # The Runs list shows each run's outcome at a glance (and filters by it): a run that
    # quarantined its drop succeeded as a run, but is tagged so.
    context.instance.add_run_tags(context.run_id, {
        "absence/extract_id": last.extract_id,
        "absence/outcome": "quarantined" if quarantined else last.status})
    for entry in quarantined:
        alerts.send(alerts.record(
            "drop_quarantined",
            f"drop {entry.extract_id} of municipality {municipality} was quarantined: "
            f"{entry.reason}",
            municipality=municipality, extract_id=entry.extract_id, reason=entry.reason,
            run_id=context.run_id), settings)
    yield dg.AssetCheckResult(
        asset_key=LEDGER_KEY, check_name="drop_accepted", passed=not quarantined,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"reasons": dg.MetadataValue.md("\n".join(
            f"- `{e.extract_id}`: {e.reason}" for e in quarantined) or "none")},
    )
    rejected = sum(e.rows_rejected for e in entries)
    yield dg.AssetCheckResult(
        asset_key=LEDGER_KEY, check_name="rows_valid", passed=rejected == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_rejected": rejected,
                  "top_reasons": dg.MetadataValue.json(
                      json.loads(last.top_reasons) if last.top_reasons else [])},
    )


def _ledger_metadata(entries: list[ledger.LedgerEntry], settings) -> dict:
    """What the drop(s) gave, reconciled: every source row read is kept, rejected or a
    duplicate; kept rows become canonical rows (fewer, where a profile folds lesson marks into
    one row per pupil and day)."""
    last = entries[-1]
    read = sum(e.rows_read for e in entries)
    rejected = sum(e.rows_rejected for e in entries)
    duplicate = sum(e.rows_duplicate for e in entries)
    loaded_by_table = {
        table: sum(pq.read_metadata(path).num_rows for e in entries if e.status == "loaded"
                   for path in [settings.canonical / table / e.municipality_code
                                / f"{e.extract_id}.parquet"] if path.exists())
        for table in CANONICAL_TABLES}
    return {
        "status": last.status,
        "extract_id": last.extract_id,
        "reason": last.reason or "",
        "rows_read": read,
        "rows_kept": read - rejected - duplicate,
        "rows_rejected": rejected,
        "rows_duplicate": duplicate,
        "rows_loaded": sum(e.rows_loaded for e in entries),
        "rows_loaded_by_table": dg.MetadataValue.json(loaded_by_table),
        "reconciliation": dg.MetadataValue.md(
            f"{read} source rows read = {read - rejected - duplicate} kept + {rejected} "
            f"rejected + {duplicate} identical repeats (counted once). The kept rows became "
            f"{sum(e.rows_loaded for e in entries)} canonical rows "
            f"({', '.join(f'{t} {n}' for t, n in loaded_by_table.items())}): a lesson-marks "
            "drop folds one row per lesson into one absence row per pupil and day, so "
            "canonical rows can be fewer than source rows."
            if last.status == "loaded" or read else
            "Nothing was read: the drop was refused before its rows (see reason)."),
        "coverage": f"{last.coverage_start} .. {last.coverage_end}",
        "schema_drift (dropped columns)": last.schema_drift or "",
        "drops": dg.MetadataValue.md(
            "| extract | status | loaded | rejected | reason |\n|---|---|---|---|---|\n"
            + "\n".join(f"| `{e.extract_id}` | {e.status} | {e.rows_loaded} | "
                        f"{e.rows_rejected} | {e.reason or ''} |" for e in entries)),
    }
