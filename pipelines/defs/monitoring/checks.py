"""Freshness: per municipality, did an extract arrive by the expected time (DESIGN §3, §8)?

The dbt mart `data_freshness` decides each municipality's status (`ok`, `late`, `missing`,
`quarantined`, `not_onboarded`; `late_after_hours` and `freshness_clock` are dbt vars). This
check reads it from the warehouse right after the dbt build, so the check and the published
table always agree, and warns, naming every municipality that is `late`, `missing` or
`quarantined` and why; `not_onboarded` ones (not expected, never delivered) are only counted.
It never stops publishing.
"""

from __future__ import annotations

import json

import dagster as dg

from pipelines import alerts
from pipelines.config import Settings
from pipelines.defs.resources import AbsenceSettings
from pipelines.defs.transform.assets import WAREHOUSE_POOL
from pipelines.marts import MartsMissing, open_marts

FRESHNESS_KEY = dg.AssetKey("data_freshness")
NOT_OK = ("late", "missing", "quarantined")


def read_freshness(settings: Settings) -> list[dict]:
    """The rows of the data_freshness mart, on whichever engine built it (read-only)."""
    try:
        with open_marts(settings, ["data_freshness"]) as con:
            cursor = con.execute(
                "select municipality_code, region_code, status, last_extract_id, "
                "last_extracted_at, coverage_end, last_error, rejected_rows "
                "from data_freshness order by municipality_code")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except MartsMissing as error:
        raise dg.Failure(str(error)) from None


def _reason(row: dict) -> str:
    if row["status"] == "late" and not (row["last_error"] or "").startswith("its remote"):
        return (f"last extract {row['last_extract_id']} extracted at "
                f"{row['last_extracted_at']:%Y-%m-%d %H:%M %Z}, older than late_after_hours")
    return row["last_error"] or ""


@dg.asset_check(
    asset=FRESHNESS_KEY, name="extracts_on_time", pool=WAREHOUSE_POOL,
    description="Every municipality's extract arrived by the expected time: warns when "
                "data_freshness marks a municipality late, missing or quarantined, and names "
                "each with its reason. Warning only: earlier data stays published.",
)
def extracts_on_time(absence: AbsenceSettings) -> dg.AssetCheckResult:
    settings = absence.settings()
    rows = read_freshness(settings)
    flagged = [r for r in rows if r["status"] in NOT_OK]
    by_status = {s: [r["municipality_code"] for r in flagged if r["status"] == s] for s in NOT_OK}
    overdue = by_status["late"] + by_status["missing"]
    if overdue:
        # Quarantined drops were alerted when they were quarantined.
        alerts.send(alerts.record(
            "municipalities_late",
            f"{len(overdue)} municipalities have no current data: "
            + ", ".join(f"{code} ({status})" for status in ("late", "missing")
                        for code in by_status[status][:20]),
            late=by_status["late"], missing=by_status["missing"]), settings)
    # Municipalities that were never onboarded are counted, not listed (there are ~300).
    table = "\n".join(
        f"| {r['municipality_code']} | {r['region_code'] or ''} | {r['status']} | "
        f"{r['last_extract_id'] or ''} | {r['coverage_end'] or ''} | "
        f"{_reason(r).replace('|', '/')} |" for r in rows if r["status"] != "not_onboarded")
    return dg.AssetCheckResult(
        passed=not flagged,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "municipalities": len(rows),
            "ok": sum(r["status"] == "ok" for r in rows),
            "not_onboarded": sum(r["status"] == "not_onboarded" for r in rows),
            **{status: dg.MetadataValue.json(codes) for status, codes in by_status.items()},
            "reasons": dg.MetadataValue.json(
                {r["municipality_code"]: f"{r['status']}: {_reason(r)}" for r in flagged}),
            "data_freshness": dg.MetadataValue.md(
                "| municipality | region | status | last extract | coverage end | reason |\n"
                "|---|---|---|---|---|---|\n" + table),
        },
    )


ARRIVAL_HOURS = 36  # a nightly drop older than this by the wall clock is overdue


def overdue_municipalities(settings, now=None) -> dict[str, str]:
    """Municipality → why it has no current drop, read from the ledger files themselves (not
    from the dbt build): an expected or ever-loaded municipality whose latest loaded drop
    finished loading more than ARRIVAL_HOURS ago by the wall clock, or that never loaded one."""
    from datetime import UTC, datetime, timedelta

    from pipelines.ingest.ledger import read_entries
    from quality.runner import expected_municipalities

    now = now or datetime.now(UTC)
    latest: dict[str, datetime] = {}
    for row in read_entries(settings.ledger):
        if row["status"] == "loaded" and row["finished_at"] is not None:
            code = row["municipality_code"]
            latest[code] = max(latest.get(code, row["finished_at"]), row["finished_at"])
    pulled = {path.stem: json.loads(path.read_text("utf-8"))
              for path in (settings.warehouse / "pull").glob("*.json")}
    # A municipality we pull from (config/sources.yaml) is expected too.
    expected = expected_municipalities(
        None, settings.seeds / "config" / "expected_municipalities.csv") | set(latest) \
        | set(pulled)
    overdue = {}
    for code in sorted(expected):
        if code not in latest:
            overdue[code] = "expected, but no drop has loaded yet"
        elif now - latest[code] > timedelta(hours=ARRIVAL_HOURS):
            overdue[code] = (f"no drop loaded since {latest[code]:%Y-%m-%d %H:%M} UTC "
                             f"(over {ARRIVAL_HOURS} h)")
        if code in overdue and (pulled.get(code) or {}).get("last_error"):
            overdue[code] += f"; its remote source: {pulled[code]['last_error']}"
    return overdue


@dg.asset_check(
    asset=FRESHNESS_KEY,
    name="drops_arrived",
    description=f"Independent of the nightly build: every expected municipality (and every "
                f"one that ever delivered) loaded a drop within the last {ARRIVAL_HOURS} "
                "hours by the wall clock, read from the ledger files. Runs on its own "
                "schedule (freshness_watch, 06:30 Helsinki), so a night whose publish job "
                "never ran still warns.",
)
def drops_arrived(absence: AbsenceSettings) -> dg.AssetCheckResult:
    settings = absence.settings()
    overdue = overdue_municipalities(settings)
    if overdue:
        alerts.send(alerts.record(
            "municipalities_late",
            f"{len(overdue)} municipalities loaded no drop in the last {ARRIVAL_HOURS} h: "
            + ", ".join(list(overdue)[:20]), overdue=overdue), settings)
    return dg.AssetCheckResult(
        passed=not overdue, severity=dg.AssetCheckSeverity.WARN,
        metadata={"overdue": len(overdue), "reasons": dg.MetadataValue.json(overdue)})


freshness_job = dg.define_asset_job(
    "freshness_job", selection=dg.AssetSelection.checks(drops_arrived),
    description="The freshness watch alone: did every municipality's nightly drop arrive?")

freshness_watch = dg.ScheduleDefinition(
    name="freshness_watch", job=freshness_job, cron_schedule="30 6 * * *",
    execution_timezone="Europe/Helsinki", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="06:30 Helsinki: warns about municipalities whose nightly drop did not "
                "arrive, whether or not the 05:00 publish job ran.")
