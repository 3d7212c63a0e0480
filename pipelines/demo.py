"""`absence demo`: generate a realistic sample, run the nightly job on it, print a summary."""

from __future__ import annotations

import dataclasses
import time

import duckdb

from pipelines.config import PROJECT_ROOT, Settings
from pipelines.orchestrate import print_outcome, run_pipeline

# Example ladders for two demo municipalities (Helsinki 30/60/80/120 h, Mikkeli 30/50 h, in
# the shape of published municipal ladders; not those municipalities' own). They reach dbt
# the way a deployment's would, through the local_thresholds setting, so the shipped seed
# stays empty and nobody's figures change.
DEMO_LOCAL_THRESHOLDS = PROJECT_ROOT / "config" / "demo_local_thresholds.csv"


def run_demo(settings: Settings, *, municipalities: int | list[str] = 6, days: int = 60,
             seed: int = 42) -> int:
    from pipelines.generator import generate

    if settings.local_thresholds is None:
        settings = dataclasses.replace(settings, local_thresholds=DEMO_LOCAL_THRESHOLDS)
    started = time.perf_counter()
    drops = generate(settings.landing, municipalities=municipalities, days=days, seed=seed)
    print(f"Generated {len(drops)} drops ({days} school days) in {settings.landing}")
    outcome = run_pipeline(settings, create_key=True)
    print_outcome(outcome, settings)
    if not outcome.published:
        return outcome.exit_code
    print(summary(settings))
    print(f"\nDone in {time.perf_counter() - started:.0f} s. Outputs:")
    print(f"  national file    {settings.published / 'national.duckdb'}")
    print(f"  region files     {settings.published / 'regions'}/<region_code>.duckdb")
    print(f"  Parquet copies   {settings.published / 'parquet'}/<table>/")
    print(f"  report (offline) {settings.published / 'reports' / 'national.html'}  and "
          f"reports/regions/<region_code>.html")
    print(f"  CSV and Excel    {settings.published / 'exports'}/national/, "
          "exports/regions/<region_code>/")
    print(f"  warehouse        {settings.warehouse_db}  (restricted: pupil level)")
    print(f"  quarantine       {settings.quarantine}")
    print("Try: absence query \"select * from absence_rates where level = 'national' "
          "and period_type = 'school_year'\"")
    print("     make dagster   (the Dagster UI with these runs, sensor and schedule)")
    return outcome.exit_code


def summary(settings: Settings) -> str:
    """Per municipality loaded/rejected rows, national rates, and per region tiers and response."""
    lines = []
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        lines.append("\nMunicipalities (data_freshness):")
        lines.append(_table(con, """
            select f.municipality_code as code, f.municipality_name as name,
                   f.region_code as region, l.profile,
                   f.status, l.rows_loaded, f.rejected_rows as rejected, f.coverage_end
            from data_freshness f
            left join read_parquet(?) l
              on l.municipality_code = f.municipality_code and l.extract_id = f.last_extract_id
             and l.status = 'loaded'
            where f.status <> 'not_onboarded'
            order by 1""", [str(settings.ledger / "*" / "*.parquet")]))
        lines.append("\nNational absence rates, school year to date:")
        lines.append(_table(con, """
            select school_year, grade_band, students, scheduled_lessons, absent_lessons,
                   round(100 * absence_rate, 2) as "absence %",
                   round(100 * illness_rate, 2) as "illness %",
                   round(100 * authorised_rate, 2) as "authorised %",
                   round(100 * unauthorised_rate, 2) as "unauthorised %",
                   round(100 * unexplained_rate, 2) as "unexplained %", late_count
            from absence_rates
            where level = 'national' and period_type = 'school_year'
            order by grade_band"""))
        lines.append("\nPer region: tier shares on the latest Sunday, timely response, median lag:")
        lines.append(_table(con, """
            with latest as (
                select * from attendance_tiers
                where level = 'region' and grade_band = 'all'
                qualify as_of_date = max(as_of_date) over ())
            select t.region_code as region, t.region_name as name, t.as_of_date,
                   t.students_with_tier as pupils,
                   round(100 * (1 - t.targeted_share - t.intensive_share), 1) as "universal %",
                   round(100 * t.targeted_share, 1) as "targeted %",
                   round(100 * t.intensive_share, 1) as "intensive %",
                   m.crossed_targeted as crossed_10pct,
                   round(100 * m.timely_response_rate, 1) as "timely response %",
                   m.median_response_lag_days as "median lag (days)"
            from latest t
            left join intervention_metrics m
              on m.level = 'region' and m.region_code = t.region_code and m.term = 'all'
             and m.school_year = t.school_year
            order by 1"""))
        lines.append("\nThe country on the latest Sunday, pupils awaiting a response "
                     "(DESIGN §7.2):")
        lines.append(_table(con, """
            select as_of_date, students_with_tier as pupils,
                   awaiting_targeted, overdue_targeted, awaiting_intensive, overdue_intensive
            from support_caseload
            where level = 'national' and grade_band = 'all'
            qualify as_of_date = max(as_of_date) over ()"""))
        lines.append("\nLocal hour ladders, school year to date:")
        lines.append(_table(con, """
            select municipality_code as code, municipality_name as name, label as step,
                   crossed, responded, round(100 * timely_response_rate, 1) as "in time %",
                   median_response_lag_days as "median lag (days)"
            from local_threshold_crossings
            where level = 'municipality' and term = 'all'
            order by municipality_code, threshold_lessons"""))
        lines.append("\nChange after the first response against no response, the country "
                     "(descriptive, not causal; percentage points):")
        lines.append(_table(con, """
            select school_year, students_in_change as pupils,
                   round(100 * mean_change, 1) as change,
                   comparison_students as "comparison pupils",
                   round(100 * comparison_mean_change, 1) as "comparison change",
                   round(100 * difference, 1) as difference
            from intervention_effect
            where level = 'national' and intervention_type = 'all'
            order by 1"""))
    return "\n".join(lines)


def _table(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> str:
    frame = con.execute(sql, params or []).df()
    return frame.to_string(index=False) if len(frame) else "  (no rows)"
