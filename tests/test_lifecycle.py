"""Extract lifecycle (DESIGN §3): corrections, stale and repeated deliveries, damaged drops.

Each scenario is a real `absence run` on real files; afterwards the published figures must
equal an independent recomputation of what should be loaded, and nothing of a rejected drop
may be published."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from pipelines.config import Settings
from pipelines.ingest import ledger
from pipelines.ingest.extract import ingest_drop
from pipelines.ingest.landing import Drop
from pipelines.orchestrate import run_pipeline
from tests.conftest import TEST_KEY
from tests.independent import read_landing, tiers_on
from tests.lifecycle_helpers import (
    drop,
    drop_lines,
    expected_by_municipality,
    night,
    published_by_municipality,
    rewrite,
    sim,
    statuses,
)

MARK = "untouched-since-night-1"


def mark_first_and_last_pupil_periods(settings: Settings) -> None:
    """Tag the first and the last int_pupil_periods row of each municipality (extract_id,
    which nothing downstream reads): a tag survives a build exactly when the build did not
    write its row again."""
    with duckdb.connect(str(settings.warehouse_db)) as con:
        for end, order in (("first", "period_end, student_key"),
                           ("last", "period_end desc, student_key desc")):
            con.execute(f"""
                update int_pupil_periods set extract_id = '{MARK}:' || municipality_code
                    || ':{end}'
                where (municipality_code, student_key, period_end) in (
                    select (municipality_code, student_key, period_end) from (
                        select *, row_number() over (
                            partition by municipality_code order by {order}) as rank
                        from int_pupil_periods)
                    where rank = 1)""")
        assert con.execute(f"select count(*) from int_pupil_periods "
                           f"where extract_id like '{MARK}:%'").fetchone()[0] == 8


def marked_rows(settings: Settings) -> set[str]:
    """The tags still in place, as `<municipality>:<first|last>`."""
    with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
        return {tag.removeprefix(f"{MARK}:") for (tag,) in con.execute(
            f"select extract_id from int_pupil_periods where extract_id like '{MARK}:%'"
        ).fetchall()}


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory):
    """Night 1 loads five municipalities; night 2 brings a correction with deletions, a stale
    extract, and five damaged drops of one municipality."""
    root = tmp_path_factory.mktemp("lifecycle")
    os.environ["ABSENCE_PSEUDONYM_KEY"] = TEST_KEY
    os.environ["DAGSTER_HOME"] = str(root / "dagster")
    settings = Settings.from_env(landing=root / "landing", warehouse=root / "warehouse")
    sims = {code: sim(code, seed=int(code)) for code in ("091", "837", "564", "179")}
    first = {
        "091": drop(sims["091"], "lesson_marks_csv", settings.landing),
        "837": drop(sims["837"], "daily_summary_jsonl", settings.landing),
        "564": drop(sims["564"], "weekly_totals_xlsx", settings.landing),
        "179": drop(sims["179"], "lesson_marks_csv", settings.landing),
    }
    night1 = run_pipeline(settings)
    night1_figures = published_by_municipality(settings.warehouse)
    mark_first_and_last_pupil_periods(settings)

    # 091 re-sends its last ten days: a later extract that deletes some markings and a day.
    correction = drop(sims["091"], "lesson_marks_csv", settings.landing, first=10,
                      extracted=night(sims["091"].days[-1], 23, 59), extract_id="correction")
    deleted_day = sims["091"].days[15].item().strftime("%-d.%-m.%Y")
    rewrite(correction, "marks", drop_lines(lambda line: ";S;" in line))
    rewrite(correction, "lessons", drop_lines(lambda line: f";{deleted_day};" in line))
    rewrite(correction, "marks", drop_lines(lambda line: f";{deleted_day};" in line))
    # 837 sends an older extract (extracted before the loaded one): superseded.
    stale = drop(sims["837"], "daily_summary_jsonl", settings.landing, last=9,
                 extract_id="stale")
    # 179 sends five damaged drops, each newer than its loaded one.
    broken = {}
    for hour, case in enumerate(["truncated", "checksum", "missing", "encoding", "empty"]):
        folder = drop(sims["179"], "lesson_marks_csv", settings.landing,
                      extracted=night(sims["179"].days[-1] , 23, 41 + hour), extract_id=case)
        broken[case] = folder
    rewrite(broken["truncated"], "marks", lambda b: b[: len(b) // 2], fix_rows=False)
    rewrite(broken["checksum"], "lessons", lambda b: b.replace(b";5\n", b";6\n", 1),
            fix_sha=False, fix_rows=False)
    (broken["missing"] / "tunnit.csv").unlink()
    rewrite(broken["encoding"], "students", lambda b: b.replace(b"00", "Ä0".encode("cp1252"), 1))
    rewrite(broken["empty"], "interventions", lambda b: b"")
    night2 = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(settings.landing),
         "--warehouse", str(settings.warehouse)], capture_output=True, text=True, timeout=900,
        env={**os.environ})
    return {"settings": settings, "first": first, "correction": correction, "stale": stale,
            "broken": broken, "night1": night1, "night1_figures": night1_figures,
            "night2": night2}


def test_night_two_publishes_and_exits_3_listing_each_quarantined_drop(lifecycle):
    assert lifecycle["night1"].exit_code == 0
    run = lifecycle["night2"]
    assert run.returncode == 3, run.stderr[-3000:]
    problem_lines = [line for line in run.stderr.splitlines() if line.startswith("QUARANTINED")]
    assert len(problem_lines) == 5
    for case in lifecycle["broken"]:
        assert any(f"179/{case}" in line for line in problem_lines)


def test_quarantine_reasons_name_the_fault(lifecycle):
    ledger_rows = {e["extract_id"]: e for e in
                   ledger.read_entries(lifecycle["settings"].ledger, "179")}
    assert "manifest says" in ledger_rows["truncated"]["reason"]
    assert "checksum does not match" in ledger_rows["checksum"]["reason"]
    assert "missing: tunnit.csv" in ledger_rows["missing"]["reason"]
    assert "cannot be parsed as utf-8" in ledger_rows["encoding"]["reason"]
    assert "empty" in ledger_rows["empty"]["reason"]


def test_statuses_follow_the_rules(lifecycle):
    seen = statuses(lifecycle["settings"])
    assert seen["091/correction"] == "loaded"
    assert seen["837/stale"] == "superseded"
    assert all(seen[f"179/{case}"] == "quarantined" for case in lifecycle["broken"])


def test_published_figures_equal_what_should_be_loaded(lifecycle):
    settings = lifecycle["settings"]
    should_load = [*lifecycle["first"].values(), lifecycle["correction"]]
    expected = expected_by_municipality(settings.landing, should_load)
    assert published_by_municipality(settings.warehouse) == expected
    # The correction changed 091 (deletions took effect); the others did not move.
    before = lifecycle["night1_figures"]
    assert expected["091"] != before["091"]
    assert all(expected[m] == before[m] for m in ("837", "564", "179"))


def test_tiers_follow_the_correction(lifecycle):
    settings = lifecycle["settings"]
    data = read_landing(settings.landing, [*lifecycle["first"].values(),
                                           lifecycle["correction"]])
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        sunday, with_tier, targeted, intensive = con.execute("""
            select as_of_date, students_with_tier, targeted_students, intensive_students
            from attendance_tiers where level = 'national' and grade_band = 'all'
            order by as_of_date desc limit 1""").fetchone()
    e = tiers_on(data, sunday)
    assert (with_tier, targeted, intensive) == (
        e["universal"] + e["targeted"] + e["intensive"], e["targeted"], e["intensive"])


def test_quarantined_municipality_keeps_its_earlier_data_and_shows_why(lifecycle):
    settings = lifecycle["settings"]
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        status, last_extract, error = con.execute("""
            select status, last_extract_id, last_error from data_freshness
            where municipality_code = '179'""").fetchone()
    assert status == "quarantined"
    assert last_extract == lifecycle["first"]["179"].name
    assert "manifest" in error or "empty" in error or "parsed" in error
    for case in lifecycle["broken"]:
        assert not (settings.canonical / "attendance" / "179" / f"{case}.parquet").exists()
        assert (lifecycle["broken"][case] / "manifest.json").exists()  # originals kept


def test_the_same_extract_again_is_a_duplicate_and_changes_nothing(lifecycle):
    settings = lifecycle["settings"]
    before = published_by_municipality(settings.warehouse)
    folder = lifecycle["first"]["564"]
    entry = ingest_drop(Drop("564", folder.name, folder), settings, TEST_KEY.encode())
    assert entry.status == "duplicate"
    assert run_pipeline(settings).exit_code == 0
    assert published_by_municipality(settings.warehouse) == before


def test_night_two_rebuilt_only_the_corrected_weeks_and_equals_a_full_refresh(lifecycle):
    """int_pupil_periods is incremental by week: the correction of 091 (its last ten school
    days) wrote 091's last row again and left its first; 564, 837 (stale drop) and 179
    (quarantined drops) kept all their rows. A full refresh then gives the same pupil
    periods and every published table the same, in every published file."""
    settings = lifecycle["settings"]
    assert marked_rows(settings) == {"091:first", "564:first", "564:last", "837:first",
                                     "837:last", "179:first", "179:last"}

    def pupil_periods() -> list[tuple]:
        with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
            return con.execute("""
                select * exclude (extract_id) from int_pupil_periods
                order by municipality_code, student_key, period_start, period_end""").fetchall()

    def published() -> dict[tuple[str, str], list[tuple]]:
        tables = {}
        for path in sorted(settings.published.rglob("*.duckdb")):
            with duckdb.connect(str(path), read_only=True) as con:
                for (table,) in con.execute("select table_name from information_schema.tables "
                                            "where table_type = 'BASE TABLE'").fetchall():
                    tables[(path.relative_to(settings.published).as_posix(), table)] = \
                        con.execute(f'select * from "{table}" order by all').fetchall()
        return tables

    incremental, incremental_published = pupil_periods(), published()
    assert run_pipeline(settings, full_refresh=True).exit_code == 0
    assert marked_rows(settings) == set()
    assert pupil_periods() == incremental
    full_refresh_published = published()
    assert full_refresh_published.keys() == incremental_published.keys()
    assert ("national.duckdb", "absence_rates") in full_refresh_published
    assert {key: rows for key, rows in full_refresh_published.items()
            if rows != incremental_published[key]} == {}
