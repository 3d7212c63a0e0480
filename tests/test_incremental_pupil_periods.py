"""int_pupil_periods is incremental by week and by pupil, and the pupil-level models after it
(year-to-date series, streak events, period totals, Sunday tier snapshots, crossings) by the
pupils whose records changed (a week sent again unchanged changes nobody), the crossings also
by the pupils whose interventions changed, seen through Dagster.

The dbt assets of the real definitions (`pipelines.definitions.defs`, `absence_dbt_assets`) are
materialised on a small real warehouse (three municipalities, two school weeks): a first build;
a second one after 091 corrects its second week (same enrolments) and sends a third, 837
re-sends its second week with the same records except that one pupil is now in another school,
and with a targeted intervention for a pupil who had crossed without one, and 179 delivers
nothing (its pupils get the new Sunday all the same); a third after 179 re-sends its second
week unchanged (absence_rates, also built, keeps its rows); then a build that has lost its state
tables; then a full refresh. A row tagged after the first build survives a
build exactly when the build did not write it again (the trick of tests/test_lifecycle.py).
The uniqueness tests of the two largest models test the rows the build wrote: on a copy of
the warehouse after the second build, dbt runs them with a duplicated row planted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.config import Settings
from pipelines.ingest.extract import ensure_layout, ingest_drop
from pipelines.ingest.landing import Drop
from pipelines.ingest.pseudonym import Pseudonymiser
from tests.conftest import TEST_KEY
from tests.lifecycle_helpers import drop, drop_lines, night, rewrite, sim

PUPIL_PERIODS = dg.AssetKey("int_pupil_periods")
YTD_SERIES = dg.AssetKey("int_pupil_ytd_series")
PUPIL_LEVEL = [YTD_SERIES, dg.AssetKey("int_pupil_streak_events"),
               dg.AssetKey("int_pupil_period_totals"), dg.AssetKey("int_pupil_tier_snapshots"),
               dg.AssetKey("int_pupil_crossings"), dg.AssetKey("int_pupil_weekday_totals"),
               dg.AssetKey("absence_rates")]
STATE = ("int_pupil_periods__built_weeks", "int_pupil_periods__built_enrolments")
UNIQUENESS_TESTS = (
    "unique_combination_of_columns_int_pupil_periods_municipality_code__student_key__period_start"
    "__period_end__int_pupil_periods",
    "unique_combination_of_columns_int_pupil_ytd_series_student_key__school_year__period_end"
    "__int_pupil_periods",
)


def _ingest(settings: Settings, folder) -> None:
    entry = ingest_drop(Drop(folder.parent.name, folder.name, folder), settings,
                        TEST_KEY.encode())
    assert entry.status == "loaded", entry.reason


def _build(defs, dbt_assets, settings: Settings, *, full_refresh: bool = False) -> None:
    """Materialise int_pupil_periods, the pupil-level models after it and everything they are
    built from (a `dbt build` of that selection) with the resources of the real
    definitions."""
    from pipelines.defs.resources import AbsenceSettings

    resources = {**defs.resources, "absence": AbsenceSettings.of(settings)}
    result = dg.materialize(
        [dbt_assets],
        selection=dg.AssetSelection.assets(PUPIL_PERIODS, *PUPIL_LEVEL).upstream(),
        resources=resources,
        run_config={"ops": {dbt_assets.op.name: {"config": {"full_refresh": full_refresh}}}},
        raise_on_error=False,
    )
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {PUPIL_PERIODS, *PUPIL_LEVEL} <= materialized


def _uniqueness_failures(settings: Settings, target: Path, duplicated: list[str],
                         every_row: bool = False, first: bool = False) -> dict[str, int]:
    """On a copy of the warehouse, the latest row of each pupil in `duplicated` written twice
    into int_pupil_periods and int_pupil_ytd_series (the first with `first`); then `dbt test`
    of their uniqueness tests (in a process of its own). The failing rows per test, by test
    name."""
    copy = Settings(landing=settings.landing, warehouse=target / "warehouse")
    shutil.copytree(settings.warehouse, copy.warehouse)
    with duckdb.connect(str(copy.warehouse_db)) as con:
        for key in duplicated:
            for table, order in (("int_pupil_periods", "period_end"),
                                 ("int_pupil_ytd_series", "period_end")):
                con.execute(f"insert into {table} select * from {table} where student_key = ? "
                            f"order by {order} {'' if first else 'desc'} limit 1", [key])
    dbt_vars = {**copy.dbt_vars(), **({"test_every_row": True} if every_row else {})}
    done = subprocess.run([
        str(Path(sys.executable).parent / "dbt"), "test", "--select", *UNIQUENESS_TESTS,
        "--target", copy.engine, "--project-dir", str(copy.dbt_project_dir),
        "--profiles-dir", str(copy.dbt_project_dir), "--target-path", str(target / "dbt"),
        "--vars", json.dumps(dbt_vars)], env={**os.environ, **copy.dbt_environment()},
        capture_output=True, text=True)
    results = [r for r in json.loads((target / "dbt" / "run_results.json").read_text("utf-8"))[
        "results"] if r["unique_id"].startswith("test.")]
    assert {r["unique_id"].split(".")[2] for r in results} == set(UNIQUENESS_TESTS), done.stdout
    return {("ytd_series" if "ytd_series" in r["unique_id"] else "pupil_periods"):
            r["failures"] or 0 for r in results}


def _query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _mark(settings: Settings, moved_key: str) -> dict[str, str]:
    """Tag one row of each (municipality, week) of pupils other than the moved one, and the
    moved pupil's first row (extract_id, which nothing downstream of the tag reads); return
    each tag's real extract id, to put back later."""
    with duckdb.connect(str(settings.warehouse_db)) as con:
        con.execute(f"""
            create temp table marked as
            select 'mark:' || municipality_code || ':' || strftime(date_trunc('week', period_end),
                       '%m-%d') as tag,
                   municipality_code,
                   arg_min(student_key, (student_key, period_end)) as student_key,
                   arg_min(period_end, (student_key, period_end)) as period_end,
                   arg_min(extract_id, (student_key, period_end)) as extract_id
            from int_pupil_periods where student_key <> '{moved_key}'
            group by municipality_code, date_trunc('week', period_end)
            union all
            select 'mark:moved', municipality_code, student_key, min(period_end),
                   arg_min(extract_id, period_end)
            from int_pupil_periods where student_key = '{moved_key}'
            group by municipality_code, student_key""")
        con.execute("""
            update int_pupil_periods set extract_id = marked.tag from marked
            where int_pupil_periods.municipality_code = marked.municipality_code
                and int_pupil_periods.student_key = marked.student_key
                and int_pupil_periods.period_end = marked.period_end""")
        return dict(con.execute("select tag, extract_id from marked").fetchall())


def _unmark(settings: Settings, extract_ids: dict[str, str]) -> None:
    with duckdb.connect(str(settings.warehouse_db)) as con:
        for tag, extract_id in extract_ids.items():
            con.execute("update int_pupil_periods set extract_id = ? where extract_id = ?",
                        [extract_id, tag])


def _marked(settings: Settings) -> set[str]:
    return {tag for (tag,) in _query(settings, "select extract_id from int_pupil_periods "
                                               "where extract_id like 'mark:%'")}


def _fingerprints(settings: Settings) -> dict[tuple[str, str], str]:
    return {(m, str(week)): fingerprint for m, week, fingerprint in _query(
        settings, "select municipality_code, week_start, partition_fingerprint "
                  "from int_pupil_period_partitions")}


def _illness_from(settings: Settings, start) -> list[tuple]:
    """091's illness lessons from `start` to the end of the correction's window (Friday 28
    August; night four sends later days), per extract."""
    return _query(settings, f"""
        select extract_id, sum(illness_lessons) from int_pupil_periods
        where municipality_code = '091' and period_end between date '{start}'
            and date '2026-08-28'
        group by extract_id""")


def _pupil_periods(settings: Settings) -> list[tuple]:
    return _query(settings, "select * from int_pupil_periods order by all")


def _second_week_pupils(settings: Settings, municipality: str) -> set[tuple]:
    """The pupils of a municipality with records in the second week."""
    return set(_query(settings, f"select student_key from int_pupil_periods where "
                                f"municipality_code = '{municipality}' "
                                f"and period_end >= date '2026-08-17'"))


# int_pupil_periods' columns in _rows_by_pupil's rows.
PERIOD_COLUMNS = ("student_key", "municipality_code", "region_code", "school_code", "grade",
                  "grade_band", "period_start", "period_end")


def _rows_by_pupil(settings: Settings) -> dict[str, Counter]:
    """Each pupil's rows of int_pupil_periods without the load's extract id and the week's
    fingerprint (nothing after the model reads them), as a multiset."""
    rows: dict[str, Counter] = {}
    for row in _query(settings, "select * exclude (extract_id, partition_fingerprint) "
                                "from int_pupil_periods"):
        rows.setdefault(row[0], Counter())[row] += 1
    return rows


# The pupil-level models after int_pupil_periods that a build writes for the changed pupils
# only, each read as rows keyed by pupil (int_pupil_period_totals numbers its pupils).
DOWNSTREAM = {
    "int_pupil_ytd_series": "select * from int_pupil_ytd_series",
    "int_pupil_streak_events": "select * from int_pupil_streak_events",
    "int_pupil_tier_snapshots": "select * from int_pupil_tier_snapshots",
    "int_pupil_weekday_totals": "select * from int_pupil_weekday_totals",
    "int_pupil_period_totals": """
        select numbers.student_key, totals.* exclude (pupil_id)
        from int_pupil_period_totals as totals
        inner join int_pupil_period_totals__pupil_numbers as numbers using (pupil_id)""",
}


def _downstream(settings: Settings) -> dict[str, list[tuple]]:
    """The downstream tables, and the crossings (built by changed pupil and by changed
    interventions)."""
    return {table: _query(settings, f"{sql} order by all")
            for table, sql in {**DOWNSTREAM,
                               "int_pupil_crossings": "select * from int_pupil_crossings",
                               "absence_rates": "select * from absence_rates"}.items()}


def _tag_absence_rates(settings: Settings, period_type: str | None = None,
                       period_start: str | None = None) -> None:
    """Tag absence_rates' national row of every grade band for one period, or for every
    period (students made negative): it survives a build that did not roll its period up
    again."""
    with duckdb.connect(str(settings.warehouse_db)) as con:
        con.execute("update absence_rates set students = -1 - students where level = 'national' "
                    "and grade_band = 'all' and coalesce(period_type = ? and period_start = ?, "
                    "true)", [period_type, period_start])


def _rates_tagged(settings: Settings) -> list[tuple]:
    return _query(settings, "select period_type, cast(period_start as varchar) "
                            "from absence_rates where students < 0 order by all")


def _untag_absence_rates(settings: Settings) -> int:
    """Put the tags back; the number of tagged rows found."""
    with duckdb.connect(str(settings.warehouse_db)) as con:
        return con.execute("update absence_rates set students = -1 - students "
                           "where students < 0").fetchone()[0]


# Late arrivals added to 091's August month totals before night five: a month the build keeps
# keeps them, and a school year it adds up from the kept months has them too.
BUMP = 1000


def _tag_period_totals(settings: Settings) -> None:
    """Add BUMP late arrivals to 091's August month rows of the period totals, and tag its
    school-year rows (school_code, as in TAG_COLUMN: nothing in the model reads a school
    year's row)."""
    with duckdb.connect(str(settings.warehouse_db)) as con:
        con.execute(f"""
            update int_pupil_period_totals set late_count = late_count + {BUMP}
            where municipality_code = '091' and period_type = 'month'
                and period_start = date '2026-08-01'""")
        con.execute("""
            update int_pupil_period_totals set school_code = 'mark:' || school_code
            where municipality_code = '091' and period_type = 'school_year'""")


def _period_totals_tagged(settings: Settings) -> dict[str, dict[str, tuple[bool, bool]]]:
    """For 091's August month rows and school-year rows, per pupil: (tagged row kept, has the
    bumped late arrivals). Then the bump and the tags are taken out."""
    rows = _query(settings, f"""
        select numbers.student_key, totals.period_type, totals.school_code like 'mark:%',
            totals.late_count >= {BUMP}
        from int_pupil_period_totals as totals
        inner join int_pupil_period_totals__pupil_numbers as numbers using (pupil_id)
        where totals.municipality_code = '091' and (totals.period_type = 'school_year'
            or (totals.period_type = 'month' and totals.period_start = date '2026-08-01'))""")
    with duckdb.connect(str(settings.warehouse_db)) as con:
        con.execute(f"update int_pupil_period_totals set late_count = late_count - {BUMP} "
                    f"where late_count >= {BUMP}")
        con.execute("update int_pupil_period_totals set school_code = substr(school_code, 6) "
                    "where school_code like 'mark:%'")
    found: dict[str, dict[str, tuple[bool, bool]]] = {"month": {}, "school_year": {}}
    for key, period_type, tagged, bumped in rows:
        found[period_type][key] = (tagged, bumped)
    return found


def _tag_streak_events(settings: Settings) -> list[tuple]:
    """Tag every streak event of 091 (school_days made negative: a build reads a kept event's
    place and term, not its length); return them as (student_key, event, first_day)."""
    with duckdb.connect(str(settings.warehouse_db)) as con:
        con.execute("update int_pupil_streak_events set school_days = -1 - school_days "
                    "where municipality_code = '091'")
    return _query(settings, "select student_key, event, first_day from int_pupil_streak_events "
                            "where school_days < 0")


def _streak_events_tagged(settings: Settings) -> set[tuple]:
    """091's streak events that kept their tag, as (student_key, event, first_day); then the
    tags are taken out."""
    kept = set(_query(settings, "select student_key, event, first_day "
                                "from int_pupil_streak_events where school_days < 0"))
    with duckdb.connect(str(settings.warehouse_db)) as con:
        con.execute("update int_pupil_streak_events set school_days = -1 - school_days "
                    "where school_days < 0")
    return kept


def _national_week(settings: Settings, column: str, week: str):
    return _query(settings, f"select {column} from absence_rates where level = 'national' "
                            f"and grade_band = 'all' and period_type = 'week' "
                            f"and period_start = '{week}'")[0][0]


def _add_response(settings: Settings, folder, day) -> str:
    """Add to a JSON Lines drop of 837 a targeted intervention on `day` for the first pupil of
    its students file who crossed the threshold without a timely response; return the key."""
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    pupils = [json.loads(line) for line in (folder / manifest["files"]["students"]["path"])
              .read_text("utf-8").splitlines()]
    unanswered = {key for (key,) in _query(settings, """
        select student_key from int_pupil_crossings
        where targeted_municipality_code = '837' and not responded_targeted""")}
    pseudonyms = Pseudonymiser(TEST_KEY.encode(), "837")
    pupil = next(p for p in pupils[1:]  # not the first: that one moves school
                 if pseudonyms.key_for(p["student_ref"], p["learner_oid"]) in unanswered)
    line = json.dumps({"student_ref": pupil["student_ref"], "date": str(day),
                       "type": "targeted_work", "role": "kuraattori", "notes": ""})
    rewrite(folder, "interventions",
            lambda data: data.rstrip(b"\n") + b"\n" + line.encode("utf-8") + b"\n")
    return pseudonyms.key_for(pupil["student_ref"], pupil["learner_oid"])


# The column of each downstream table that carries a tag: nothing after the tag reads
# region_code of the series, streak events or snapshots in this selection (a build of the
# streak events reads the place of a changed pupil's kept events: none is tagged); the
# period totals' school_code reaches absence_rates, whose school_code no data test checks.
TAG_COLUMN = {"int_pupil_period_totals": "school_code"}


def _mark_downstream(settings: Settings, changing: set[tuple], resent_same: set[tuple]) -> None:
    """Tag one row of each municipality in each downstream table (TAG_COLUMN, else
    region_code; the real value kept after a '|'): in 091 and 837 a row of a pupil in
    `changing` (whose records the next night changes; in the series their latest date, in
    the period totals a school year), in 179 any; tagged 'mark:same', a row of a pupil in
    `resent_same` (whose records the next night sends again unchanged); and tagged
    'mark:before', the series' row of a pupil of 091 in `changing` on the first date, before
    anything of theirs changes."""
    with duckdb.connect(str(settings.warehouse_db)) as con:
        for name, pupils in (("changing", changing), ("resent_same", resent_same)):
            con.execute(f"create temp table {name} (student_key varchar)")
            con.executemany(f"insert into {name} values (?)", sorted(pupils))
        for table in DOWNSTREAM:
            column = TAG_COLUMN.get(table, "region_code")
            key = ("(select student_key from int_pupil_period_totals__pupil_numbers as numbers "
                   "where numbers.pupil_id = rows.pupil_id)"
                   if table == "int_pupil_period_totals" else "rows.student_key")
            row = {"int_pupil_ytd_series": "arg_max(rowid, (period_end, rowid))",
                   "int_pupil_period_totals": "arg_min(rowid, (period_type <> 'school_year', "
                                              "rowid))"}.get(table, "min(rowid)")
            # The streak events of a changed pupil are written again from the last day
            # before the change they attended: 091's earlier ones stay (see
            # test_streak_events_keep_the_events_before_the_last_attended_day); in 837 the
            # moved pupil's, every one.
            changing = ("municipality_code = '837' and " if table == "int_pupil_streak_events"
                        else "") + f"{key} in (select * from changing)"
            con.execute(f"""
                update {table} set {column} = 'mark:' || municipality_code || '|' || {column}
                where rowid in (
                    select {row} from {table} as rows
                    where municipality_code = '179' or ({changing})
                    group by municipality_code)""")
            con.execute(f"""
                update {table} set {column} = 'mark:same|' || {column}
                where rowid = (select min(rowid) from {table} as rows
                               where {key} in (select * from resent_same))""")
        con.execute("""
            update int_pupil_ytd_series set region_code = 'mark:before|' || region_code
            where rowid = (select arg_min(rowid, (period_end, student_key))
                           from int_pupil_ytd_series as rows
                           where municipality_code = '091'
                               and student_key in (select * from changing))""")


def _unmark_downstream(settings: Settings) -> None:
    with duckdb.connect(str(settings.warehouse_db)) as con:
        for table in DOWNSTREAM:
            column = TAG_COLUMN.get(table, "region_code")
            con.execute(f"update {table} set {column} = split_part({column}, '|', 2) "
                        f"where {column} like 'mark:%'")


def _marked_downstream(settings: Settings) -> dict[str, set[str]]:
    return {table: {tag for (tag,) in _query(
        settings, f"select split_part({column}, '|', 1) from {table} "
                  f"where {column} like 'mark:%'")}
        for table in DOWNSTREAM for column in [TAG_COLUMN.get(table, "region_code")]}


def _tiers(settings: Settings) -> dict[tuple[str, str], str]:
    return {(key, str(day)): tier for key, day, tier in _query(
        settings, "select student_key, period_end, tier from int_pupil_ytd_series")}


def _move_first_pupil(folder) -> tuple[str, str, str]:
    """Move the first pupil of a JSON Lines students file to a new school of the
    municipality; return the pupil's (student_ref, learner_oid) and the new school."""
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    lines = (folder / manifest["files"]["students"]["path"]).read_text("utf-8").splitlines()
    pupils = [json.loads(line) for line in lines]
    other = str(max(int(p["school_code"]) for p in pupils) + 1)

    def change(data: bytes) -> bytes:
        first, rest = data.split(b"\n", 1)
        row = json.loads(first)
        row["school_code"] = other
        return json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n" + rest

    rewrite(folder, "students", change)
    return pupils[0]["student_ref"], pupils[0]["learner_oid"], other


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    settings = Settings(landing=root / "landing", warehouse=root / "warehouse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ABSENCE_PSEUDONYM_KEY", TEST_KEY)
        mp.setenv("ABSENCE_LANDING", str(settings.landing))
        mp.setenv("ABSENCE_WAREHOUSE", str(settings.warehouse))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        # The selection is the pupil-level models and their upstream only: run the dbt tests
        # whose parents are all selected, not those that also read the marts (not built here).
        mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
        ensure_layout(settings)

        # The manifest must match the SQL on disk before the definitions are imported
        # (prepare_if_dev() does nothing under pytest).
        from pipelines.dbt_project import prepare_manifest

        prepare_manifest(settings)
        from pipelines.definitions import defs
        from pipelines.defs.transform.assets import absence_dbt_assets

        # Ten school days from Monday 10 Aug 2026: two weeks; 091 has a third, which it
        # delivers on night two.
        sims = {"091": sim("091", days=20, pupils=30, seed=91),
                "837": sim("837", days=10, pupils=30, seed=837),
                "179": sim("179", days=10, pupils=20, seed=179)}
        _ingest(settings, drop(sims["091"], "lesson_marks_csv", settings.landing, last=9))
        _ingest(settings, drop(sims["837"], "daily_summary_jsonl", settings.landing))
        _ingest(settings, drop(sims["179"], "lesson_marks_csv", settings.landing))
        _build(defs, absence_dbt_assets, settings)
        days = sims["091"].days[:15]
        window_start = days[5].item()
        state = {"settings": settings, "first_fingerprints": _fingerprints(settings),
                 "first_tiers": _tiers(settings),
                 "correction_start": window_start,
                 "illness_before": _illness_from(settings, window_start)}

        # 091 re-sends its second week without any illness markings, with the same pupils
        # in the same schools, and sends its third: the latest data moves a week on, so
        # every pupil gets a Sunday more. 837 re-sends its second week unchanged, except that
        # one pupil is now in another school.
        correction = drop(sims["091"], "lesson_marks_csv", settings.landing, first=5, last=14,
                          extracted=night(days[-1], 23, 59), extract_id="correction")
        rewrite(correction, "marks", drop_lines(lambda line: ";S;" in line))
        resent = drop(sims["837"], "daily_summary_jsonl", settings.landing, first=5,
                      extracted=night(days[-1], 23, 59), extract_id="moved")
        ref, oid, school = _move_first_pupil(resent)
        # ... and a pupil of 837 who crossed without a response has one now.
        state["responded_late"] = _add_response(settings, resent, days[9])
        moved_key = Pseudonymiser(TEST_KEY.encode(), "837").key_for(ref, oid)
        state.update(moved_key=moved_key, new_school=school,
                     old_schools=_query(settings, f"""
                         select distinct school_code from int_pupil_periods
                         where student_key = '{moved_key}'"""))
        # 837's pupils other than the moved one: their week comes again unchanged.
        state["resent_same"] = _second_week_pupils(settings, "837") - {(moved_key,)}
        state["changing"] = _second_week_pupils(settings, "091") | {(moved_key,)}
        marked = _mark(settings, moved_key)
        state["tags"] = set(marked)
        rows_before = _rows_by_pupil(settings)
        _mark_downstream(settings, state["changing"], state["resent_same"])
        _tag_absence_rates(settings, "week", "2026-08-17")
        _ingest(settings, correction)
        _ingest(settings, resent)
        _build(defs, absence_dbt_assets, settings)
        state["second_fingerprints"] = _fingerprints(settings)
        state["marked_after_second"] = _marked(settings)
        state["downstream_marked_after_second"] = _marked_downstream(settings)
        state["snapshots_per_sunday"] = _query(settings, """
            select municipality_code, as_of_date, count(*) from int_pupil_tier_snapshots
            group by all order by all""")
        state["changed_pupils"] = set(_query(settings, "select student_key from "
                                                       "int_pupil_periods__changed_pupils"))
        state["changed_from"] = dict(_query(settings, "select student_key, changed_from from "
                                                      "int_pupil_periods__changed_pupils"))
        rows_after = _rows_by_pupil(settings)
        state["rows_before"], state["rows_after"] = rows_before, rows_after
        state["late_response"] = _query(settings, f"""
            select responded_targeted, response_type from int_pupil_crossings
            where student_key = '{state["responded_late"]}'""")
        state["rows_differ"] = {(key,) for key in rows_before.keys() | rows_after.keys()
                                if rows_before.get(key) != rows_after.get(key)}
        state["changing"] |= _second_week_pupils(settings, "091")
        state["pupils_of_179"] = set(_query(settings, "select student_key from int_pupil_periods "
                                                      "where municipality_code = '179'"))
        state["rates_periods"] = _query(settings, """
            select distinct period_type, cast(period_start as varchar) from absence_rates
            order by all""")
        state["periods_untagged"] = _query(settings, """
            select distinct period_type, cast(period_start as varchar)
            from int_pupil_period_totals where school_code like 'mark:%' order by all""")
        _unmark_downstream(settings)
        state["second_tiers"] = _tiers(settings)
        state["incremental_downstream"] = _downstream(settings)
        state["moved_schools"] = _query(settings, f"""
            select distinct school_code from int_pupil_periods
            where student_key = '{moved_key}'""")
        _unmark(settings, marked)
        state["incremental"] = _pupil_periods(settings)

        # The uniqueness tests after the second build: a duplicate of a pupil it did not
        # write (179's), then of one it wrote (091's, on their latest date), then of that
        # one's first date, before their change, then 179's with every row tested.
        unchanged = sorted(state["pupils_of_179"])[0][0]
        changed = sorted(key for key, day in state["changed_from"].items() if day)[0]
        assert (changed,) not in state["pupils_of_179"]
        state["uniqueness"] = {
            "unchanged": _uniqueness_failures(settings, root / "unique-1", [unchanged]),
            "changed": _uniqueness_failures(settings, root / "unique-2", [unchanged, changed]),
            "changed_earlier": _uniqueness_failures(settings, root / "unique-4", [changed],
                                                    first=True),
            "every_row": _uniqueness_failures(settings, root / "unique-3", [unchanged],
                                              every_row=True)}

        # A build with nothing new after the tags above were taken out of the period totals:
        # absence_rates rolls up again the periods of the rows whose tags went, only those.
        state["rates_tag_after_second"] = _untag_absence_rates(settings)
        _tag_absence_rates(settings)
        _build(defs, absence_dbt_assets, settings)
        state["rates_tagged_after_untagging"] = _rates_tagged(settings)
        _untag_absence_rates(settings)

        # One pupil's first week gets a late arrival more in the period totals, and the
        # second week's national data_through is wrong: the build rolls up the first week
        # again, keeps the other periods' rows and puts their data_through right.
        state["late_before"] = _national_week(settings, "late_count", "2026-08-10")
        state["through_before"] = _national_week(settings, "data_through", "2026-08-17")
        with duckdb.connect(str(settings.warehouse_db)) as con:
            (bumped,) = con.execute("""
                select min(rowid) from int_pupil_period_totals
                where period_type = 'week' and period_start = '2026-08-10'""").fetchone()
            con.execute("update int_pupil_period_totals set late_count = late_count + 1 "
                        "where rowid = ?", [bumped])
            con.execute("update absence_rates set data_through = date '2000-01-01' "
                        "where level = 'national' and period_start = '2026-08-17'")
        for period in (("week", "2026-08-10"), ("week", "2026-08-17"), ("month", "2026-08-01"),
                       ("school_year", "2026-08-01")):
            _tag_absence_rates(settings, *period)
        _build(defs, absence_dbt_assets, settings)
        state["rates_tagged_after_one_week"] = _rates_tagged(settings)
        state["late_after"] = _national_week(settings, "late_count", "2026-08-10")
        state["through_after"] = _national_week(settings, "data_through", "2026-08-17")
        _untag_absence_rates(settings)
        with duckdb.connect(str(settings.warehouse_db)) as con:
            state["bump_reverted"] = con.execute(
                "update int_pupil_period_totals set late_count = late_count - 1 "
                "where rowid = ?", [bumped]).fetchone()[0]

        # Night three: 179 sends its second week again, unchanged. Its rows of
        # int_pupil_periods are written again (a new load wins the week) and nothing after
        # them changes: no pupil, and absence_rates keeps its rows but for the first week,
        # whose totals the test has just put back.
        _tag_absence_rates(settings, "week", "2026-08-17")
        _tag_absence_rates(settings, "month", "2026-08-01")
        _ingest(settings, drop(sims["179"], "lesson_marks_csv", settings.landing, first=5,
                               extracted=night(days[-1], 23, 59), extract_id="again"))
        _build(defs, absence_dbt_assets, settings)
        state["changed_on_third"] = _query(settings, "select * from "
                                                     "int_pupil_periods__changed_pupils")
        state["rates_tagged_after_third"] = _rates_tagged(settings)
        state["rates_tag_after_third"] = _untag_absence_rates(settings)

        # Nights four and five: 091 sends its fourth week (Monday 31 August and the first
        # days of September), then corrects 2-4 September without illness. The pupils whose
        # records that changed changed from September: their period totals keep August
        # (tagged) and write September, the week, the autumn term and the school year again,
        # the term and year from the kept August and the new September.
        _ingest(settings, drop(sims["091"], "lesson_marks_csv", settings.landing, first=15,
                               last=19, extract_id="fourth"))
        _build(defs, absence_dbt_assets, settings)
        september = drop(sims["091"], "lesson_marks_csv", settings.landing, first=17, last=19,
                         extracted=night(sims["091"].days[19], 23, 59),
                         extract_id="september")
        rewrite(september, "marks", drop_lines(lambda line: ";S;" in line))
        _tag_period_totals(settings)
        state["streak_events_before_fifth"] = _tag_streak_events(settings)
        _ingest(settings, september)
        _build(defs, absence_dbt_assets, settings)
        state["changed_on_fifth"] = dict(_query(settings, "select student_key, changed_from "
                                                          "from int_pupil_periods__changed_pupils"))
        state["period_totals_tagged"] = _period_totals_tagged(settings)
        state["streak_events_kept_on_fifth"] = _streak_events_tagged(settings)
        state["records_after_fifth"] = _query(settings, """
            select student_key, period_start, period_end, scheduled_lessons, absent_lessons
            from int_pupil_periods""")
        # The tags reached absence_rates' school rows of the periods it rolled up again; with
        # them gone from the totals, a build with nothing new rolls those periods up again.
        _build(defs, absence_dbt_assets, settings)
        state["incremental"] = _pupil_periods(settings)
        state["incremental_downstream"] = _downstream(settings)

        # Lost state (a warehouse from before the state tables): everything is built again.
        _mark(settings, moved_key)
        with duckdb.connect(str(settings.warehouse_db)) as con:
            con.execute(f"drop table {STATE[1]}")
        _mark_downstream(settings, state["changing"], state["resent_same"])
        _build(defs, absence_dbt_assets, settings)
        state["marked_without_state"] = _marked(settings)
        state["downstream_marked_without_state"] = _marked_downstream(settings)
        state["without_state"] = _pupil_periods(settings)
        state["downstream_without_state"] = _downstream(settings)
        state["state_tables"] = {name for (name,) in _query(
            settings, "select table_name from information_schema.tables "
                      "where table_name like 'int_pupil_periods__built_%'")}

        _build(defs, absence_dbt_assets, settings, full_refresh=True)
        state["full_refresh"] = _pupil_periods(settings)
        state["full_refresh_downstream"] = _downstream(settings)
    return state


def test_only_the_weeks_whose_loads_changed_get_a_new_fingerprint(builds):
    first, second = builds["first_fingerprints"], builds["second_fingerprints"]
    assert first.keys() == {
        (m, week) for m in ("091", "837", "179") for week in ("2026-08-10", "2026-08-17")}
    assert second.keys() == first.keys() | {("091", "2026-08-24")}
    changed = {key for key in first if first[key] != second[key]}
    assert changed == {("091", "2026-08-17"), ("837", "2026-08-17")}


def test_the_build_wrote_again_only_the_changed_weeks_and_the_moved_pupil(builds):
    assert builds["tags"] == {"mark:091:08-10", "mark:091:08-17", "mark:837:08-10",
                              "mark:837:08-17", "mark:179:08-10", "mark:179:08-17",
                              "mark:moved"}
    # The first week's rows survived in both municipalities: 091's enrolment list moved
    # nobody, and 837's moved one pupil, whose every row was placed again. 179 sent nothing.
    assert builds["marked_after_second"] == {"mark:091:08-10", "mark:837:08-10",
                                             "mark:179:08-10", "mark:179:08-17"}


def test_the_moved_pupil_is_in_the_new_school_on_every_date(builds):
    assert builds["old_schools"] != [(builds["new_school"],)]
    assert builds["moved_schools"] == [(builds["new_school"],)]


def test_the_changed_week_is_rebuilt_from_the_correction(builds):
    settings, start = builds["settings"], builds["correction_start"]
    ((first_extract, illness_before),) = builds["illness_before"]
    assert first_extract != "correction" and illness_before > 0
    assert _illness_from(settings, start) == [("correction", 0)]
    # Days before the correction's window stay with the first extract.
    assert _query(settings, f"""
        select distinct extract_id from int_pupil_periods
        where municipality_code = '091' and period_end < date '{start}'""") == [(first_extract,)]


def test_the_pupil_level_models_wrote_again_the_changed_pupils_only(builds):
    """The changed pupils are those whose rows of int_pupil_periods differ after the build
    (091's: a correction and a new week; the moved pupil). 837's other pupils, whose week
    came again unchanged, and 179's pupils are not among them, and their series, streak
    events, period totals and snapshots were not written again."""
    expected = builds["rows_differ"]
    assert (builds["moved_key"],) in expected and len(expected) > 25
    assert builds["changed_pupils"] == expected
    assert builds["pupils_of_179"] and not builds["pupils_of_179"] & expected
    assert len(builds["resent_same"]) > 20 and not builds["resent_same"] & expected
    # A row of a changed pupil was written again in 091 and 837; the row of 179 and that of
    # a pupil whose week came again unchanged were not, nor the series' row of a changed
    # pupil of 091 on the first date, nor the snapshot of one on Sunday 16 August (their only
    # one): those are written again from the last date (Sunday) before the change, and the
    # changes of 091's pupils came later (the moved pupil of 837 changed on every date).
    kept = {"int_pupil_ytd_series": {"mark:before"}, "int_pupil_tier_snapshots": {"mark:091"}}
    assert builds["downstream_marked_after_second"] == {
        table: {"mark:179", "mark:same"} | kept.get(table, set()) for table in DOWNSTREAM}


def test_a_change_is_dated_from_the_pupils_first_changed_date(builds):
    """changed_from is the earliest period_end of a row that differs (rows deleted, added or
    written with other contents), for the moved pupil none (every date: their enrolments
    changed). 091's pupils changed from the correction's first day or later."""
    period_end = PERIOD_COLUMNS.index("period_end")
    before, after = builds["rows_before"], builds["rows_after"]
    expected = {}
    for (key,) in builds["rows_differ"]:
        old, new = before.get(key, Counter()), after.get(key, Counter())
        expected[key] = min(row[period_end] for row in (old - new) + (new - old))
    expected[builds["moved_key"]] = None
    assert builds["changed_from"] == expected
    assert {day for key, day in expected.items() if key != builds["moved_key"]} \
        and all(day >= builds["correction_start"]
                for key, day in expected.items() if key != builds["moved_key"])


def test_period_totals_keep_the_months_before_a_change(builds):
    """Night five corrected 2-4 September: every changed pupil changed from then, their
    August totals were kept (the tag survived) and their school year written again (from the
    kept August and the new September: equal to a full refresh, below); the school years of
    091's pupils who did not change were kept."""
    changed = builds["changed_on_fifth"]
    assert changed and all(day is not None and day >= date(2026, 9, 2)
                           for day in changed.values()), changed
    found = builds["period_totals_tagged"]
    # Every August month kept its planted late arrivals: none was added up again.
    assert len(found["month"]) > 20 and all(bumped for _, bumped in found["month"].values())
    # The changed pupils' school years were written again, from the kept August months.
    years = found["school_year"]
    assert {key for key, (tagged, _) in years.items() if not tagged} == set(changed)
    assert all(bumped for key, (_, bumped) in years.items() if key in changed)
    assert not any(bumped for key, (_, bumped) in years.items() if key not in changed)
    assert len(years) > len(changed)


def test_streak_events_keep_the_events_before_the_last_attended_day(builds):
    """Night five changed 091's pupils from 2-4 September. A changed pupil kept the events
    (streaks and `pupil` events) whose first day is on or before their last school day
    before the change on which they attended a lesson (looked for in the four weeks
    before), and had every later one written again; every event of a pupil who did not
    change was kept. Equal to a full refresh all the same (below)."""
    changed = builds["changed_on_fifth"]
    school_days: dict[tuple, list] = {}
    for key, start, end, scheduled, absent in builds["records_after_fifth"]:
        if start == end and scheduled > 0:
            lessons = school_days.setdefault((key, end), [0, 0])
            lessons[0] += scheduled
            lessons[1] += absent
    last_attended = {}
    for key, since in changed.items():
        attended = [day for (pupil, day), (scheduled, absent) in school_days.items()
                    if pupil == key and since is not None
                    and since - timedelta(days=28) <= day < since and absent < scheduled]
        last_attended[key] = max(attended, default=None)
    kept = builds["streak_events_kept_on_fifth"]
    outcomes = Counter()
    for key, event, first_day in builds["streak_events_before_fifth"]:
        expected = key not in changed or (last_attended[key] is not None
                                          and first_day <= last_attended[key])
        assert ((key, event, first_day) in kept) == expected, (event, first_day)
        outcomes[key in changed, expected] += 1
    # Changed pupils both kept events and had some written again; the others kept theirs.
    assert outcomes[True, True] and outcomes[True, False] and outcomes[False, True], outcomes


def test_the_correction_moved_tiers_after_the_fact(builds):
    """The correction removed 091's illness in the second week: some pupils' tiers on those
    dates are not what night one said (a crossing that arrived, or went, late)."""
    first, second = builds["first_tiers"], builds["second_tiers"]
    assert first.keys() < second.keys()
    assert {key for key in first if first[key] != second[key]}


def test_every_pupil_gets_the_sunday_the_new_week_brought(builds):
    """091's third week moved the latest data past Sunday 23 Aug: every municipality's pupils
    have snapshots on it, 179's carried forward from their last one, as many as a full
    refresh gives (a pupil whose enrolment ended has none)."""
    counts = {(m, str(day)): n for m, day, n in builds["snapshots_per_sunday"]}
    assert {day for _, day in counts} == {"2026-08-16", "2026-08-23"}
    full = Counter((row[3], str(row[2]))
                   for row in builds["full_refresh_downstream"]["int_pupil_tier_snapshots"]
                   if str(row[2]) <= "2026-08-23")  # night four brought later Sundays
    assert counts == dict(full)
    assert all(counts[(m, "2026-08-23")] > 0 for m in ("091", "837", "179"))


def test_without_its_state_the_build_writes_every_row_again_and_keeps_state(builds):
    assert builds["marked_without_state"] == set()
    assert builds["downstream_marked_without_state"] == {table: set() for table in DOWNSTREAM}
    assert builds["without_state"] == builds["incremental"]
    assert builds["downstream_without_state"] == builds["incremental_downstream"]
    assert builds["state_tables"] == set(STATE)


def test_a_week_sent_again_unchanged_changes_nobody_and_keeps_the_rates(builds):
    """Night two changed the second week's figures: absence_rates rolled it up again (its
    tagged row is gone), as it did when the test took its tags out of the period totals.
    Night three (179's week again, unchanged) changed no pupil and kept the rows of the
    periods whose totals did not change; the rows equal a full refresh (below)."""
    assert builds["rates_tag_after_second"] == 0
    untagged = builds["periods_untagged"]
    assert untagged and set(untagged) < set(builds["rates_periods"])
    assert builds["rates_tagged_after_untagging"] == [
        period for period in builds["rates_periods"] if period not in untagged]
    assert builds["changed_on_third"] == []
    assert builds["rates_tagged_after_third"] == [("month", "2026-08-01"),
                                                  ("week", "2026-08-17")]


def test_absence_rates_rolls_up_only_the_periods_whose_totals_changed(builds):
    """A late arrival more in one pupil's first-week totals: the first week's rows are rolled
    up again with it, every other period keeps its rows (its tags), and data_through is put
    right on a row that was not rolled up."""
    assert builds["rates_tagged_after_one_week"] == [
        ("month", "2026-08-01"), ("school_year", "2026-08-01"), ("week", "2026-08-17")]
    assert builds["late_after"] == builds["late_before"] + 1
    assert builds["through_after"] == builds["through_before"]
    assert builds["bump_reverted"] == 1


def test_the_incremental_result_equals_a_full_refresh(builds):
    assert builds["incremental"] == builds["full_refresh"]
    assert len(builds["full_refresh"]) > 500
    for table, rows in builds["full_refresh_downstream"].items():
        assert builds["incremental_downstream"][table] == rows, table
        assert len(rows) > (10 if table == "int_pupil_crossings" else 100), table


def test_a_crossing_follows_an_intervention_its_records_did_not_bring(builds):
    """837's re-sent week brought a response for a pupil whose records did not change: the
    crossing was built again with it (and equals a full refresh, above)."""
    assert (builds["responded_late"],) not in builds["changed_pupils"]
    assert builds["late_response"] == [(True, "targeted_work")]


def test_the_uniqueness_tests_read_the_rows_the_build_wrote(builds):
    """A duplicate of a pupil the build did not write passes (it was tested when written),
    one of a changed pupil on a date the build wrote fails, one on a date before their
    change passes (written and tested before), and with `test_every_row` every row is
    tested."""
    uniqueness = builds["uniqueness"]
    assert uniqueness["unchanged"] == {"pupil_periods": 0, "ytd_series": 0}, uniqueness
    assert uniqueness["changed"] == {"pupil_periods": 1, "ytd_series": 1}, uniqueness
    assert uniqueness["changed_earlier"] == {"pupil_periods": 0, "ytd_series": 0}, uniqueness
    assert uniqueness["every_row"] == {"pupil_periods": 1, "ytd_series": 1}, uniqueness
