"""Ingest: one run turns one municipality's drop into canonical Parquet and a ledger row."""


import json

import dagster as dg

from pipelines.defs.ingest.partitions import municipality_partitions
from pipelines.defs.resources import AbsenceSettings
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
                       group_name="ingest", kinds={"parquet"})
          for table, key in CANONICAL_KEYS.items()],
        dg.AssetSpec(LEDGER_KEY, description="Extract ledger: one row per drop seen, with its "
                     "status (loaded, superseded, duplicate, quarantined) and reason.",
                     group_name="ingest", kinds={"parquet"}),
        dg.AssetSpec(QUARANTINE_KEY, description="Rows rejected at ingest: file, data row, "
                     "column and reason (quarantine/<mmm>/<load_id>/rejected_rows.parquet).",
                     group_name="ingest", kinds={"parquet"}, skippable=True),
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
    yield dg.MaterializeResult(asset_key=LEDGER_KEY, metadata=_ledger_metadata(entries))
    if any(e.rows_rejected for e in entries):
        yield dg.MaterializeResult(asset_key=QUARANTINE_KEY, metadata={
            "rows_rejected": sum(e.rows_rejected for e in entries),
            "path": dg.MetadataValue.path(str(settings.quarantine / municipality)),
        })
    for entry in entries:
        context.log.info(f"{municipality}/{entry.extract_id}: {entry.status}"
                         + (f" ({entry.reason})" if entry.reason else ""))
    quarantined = [e for e in entries if e.status == "quarantined"]
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


def _ledger_metadata(entries: list[ledger.LedgerEntry]) -> dict:
    last = entries[-1]
    return {
        "status": last.status,
        "extract_id": last.extract_id,
        "reason": last.reason or "",
        "rows_read": sum(e.rows_read for e in entries),
        "rows_loaded": sum(e.rows_loaded for e in entries),
        "rows_rejected": sum(e.rows_rejected for e in entries),
        "coverage": f"{last.coverage_start} .. {last.coverage_end}",
        "schema_drift (dropped columns)": last.schema_drift or "",
        "drops": dg.MetadataValue.md(
            "| extract | status | loaded | rejected | reason |\n|---|---|---|---|---|\n"
            + "\n".join(f"| `{e.extract_id}` | {e.status} | {e.rows_loaded} | "
                        f"{e.rows_rejected} | {e.reason or ''} |" for e in entries)),
    }
