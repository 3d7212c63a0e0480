"""End to end: generated drops of all three profiles → `absence run` → published files,
checked against an independent recomputation straight from the raw files."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from pipelines.generator import generate
from tests.independent import intervention_metrics, read_landing, region_of, tiers_on, totals

# Four municipalities in four regions: CSV (utf-8), JSONL, XLSX and a second CSV.
MUNICIPALITIES = ["091", "837", "564", "179"]


def absence(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    landing, warehouse = root / "landing", root / "warehouse"
    generate(landing, municipalities=MUNICIPALITIES, start=date(2026, 8, 10), days=45, seed=7)
    env = {**os.environ, "ABSENCE_PSEUDONYM_KEY": "e2e-key", "DAGSTER_HOME": str(root / "dh")}
    run = absence("run", "--landing", str(landing), "--warehouse", str(warehouse), env=env)
    return {"landing": landing, "warehouse": warehouse, "run": run, "env": env,
            "raw": read_landing(landing)}


def query(warehouse: Path, sql: str, region: str | None = None) -> list[tuple]:
    path = warehouse / "published" / ("regions/" + region if region else "national")
    with duckdb.connect(f"{path}.duckdb", read_only=True) as con:
        return con.execute(sql).fetchall()


def test_run_publishes_every_drop_and_exits_zero(published):
    run = published["run"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("LOADED") == len(MUNICIPALITIES)
    profiles = {row[0] for row in duckdb.sql(
        f"select profile from read_parquet('{published['warehouse']}/ledger/*/*.parquet')"
        " where status = 'loaded'").fetchall()}
    assert profiles == {"lesson_marks_csv", "daily_summary_jsonl", "weekly_totals_xlsx"}


def test_national_rate_and_pupils_equal_the_raw_files(published):
    pupils, scheduled, absent = totals(published["raw"].records)
    (row,) = query(published["warehouse"], """
        select students, scheduled_lessons, absent_lessons, absence_rate from absence_rates
        where level = 'national' and period_type = 'school_year' and grade_band = 'all'""")
    assert row[0] == pupils
    assert Fraction(str(row[1])) == scheduled and Fraction(str(row[2])) == absent
    assert row[3] == pytest.approx(float(absent / scheduled), abs=1e-12)


def test_each_region_rate_equals_the_raw_files(published):
    regions = region_of()
    for code in MUNICIPALITIES:
        region = regions[code]
        records = [r for r in published["raw"].records if regions[r.municipality] == region]
        pupils, scheduled, absent = totals(records)
        for file_region in (None, region):
            (row,) = query(published["warehouse"], f"""
                select students, absence_rate from absence_rates
                where level = 'region' and region_code = '{region}'
                  and period_type = 'school_year' and grade_band = 'all'""", file_region)
            assert row == (pupils, pytest.approx(float(absent / scheduled), abs=1e-12))


def test_tier_counts_on_the_latest_sunday_equal_the_raw_files(published):
    ((sunday,),) = query(published["warehouse"],
                         "select max(as_of_date) from attendance_tiers where level = 'national'")
    expected = tiers_on(published["raw"], sunday)
    (row,) = query(published["warehouse"], f"""
        select students_with_tier, universal_students, targeted_students, intensive_students
        from attendance_tiers
        where level = 'national' and grade_band = 'all' and as_of_date = '{sunday}'""")
    assert row == (expected["universal"] + expected["targeted"] + expected["intensive"],
                   expected["universal"], expected["targeted"], expected["intensive"])
    assert expected["targeted"] > 0 and expected["intensive"] > 0  # the sample has a tail


def test_national_intervention_metrics_equal_the_raw_files(published):
    expected = intervention_metrics(published["raw"])
    rows = query(published["warehouse"], """
        select term, crossed_targeted, responded_targeted, median_response_lag_days,
               crossed_intensive, responded_intensive, mean_rate_change_after_intervention
        from intervention_metrics where level = 'national'""")
    assert {row[0] for row in rows} >= {"autumn", "all"}
    for term, crossed, responded, lag, crossed_i, responded_i, change in rows:
        e = expected[term]
        assert (crossed, responded, crossed_i, responded_i) == (
            e["crossed_targeted"], e["responded_targeted"], e["crossed_intensive"],
            e["responded_intensive"]), term
        assert lag == pytest.approx(e["median_response_lag_days"])
        assert change == pytest.approx(e["mean_rate_change_after_intervention"], abs=1e-9)


def test_region_file_holds_only_its_own_region_and_no_pupil_level(published):
    region = region_of()["091"]
    rows = query(published["warehouse"],
                 "select distinct level, region_code from absence_rates", region)
    assert {r[1] for r in rows} == {region}
    assert {r[0] for r in rows} == {"region", "municipality", "school"}
    tables = {r[0] for r in query(published["warehouse"],
                                  "select table_name from information_schema.tables")}
    assert tables == {"absence_rates", "attendance_tiers", "intervention_metrics",
                      "interventions_by_type", "data_freshness"}
    columns = {r[0] for r in query(published["warehouse"],
                                   "select column_name from information_schema.columns")}
    assert not columns & {"student_key", "learner_oid", "oppilas_id", "student_ref"}


def test_query_command_reads_the_published_file(published):
    result = absence("query", "--warehouse", str(published["warehouse"]), "--csv",
                     "select count(*) as n from data_freshness", env=published["env"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["n", str(len(MUNICIPALITIES))]


def test_a_second_run_with_nothing_new_changes_nothing(published):
    before = query(published["warehouse"], "select * from absence_rates order by all")
    run = absence("run", "--landing", str(published["landing"]), "--warehouse",
                  str(published["warehouse"]), env=published["env"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert "LOADED" not in run.stdout
    assert query(published["warehouse"], "select * from absence_rates order by all") == before
