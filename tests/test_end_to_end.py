"""End to end: generated drops of all three profiles → `absence run` → published files,
checked against an independent recomputation straight from the raw files."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.config import Settings
from pipelines.dbt_project import run_unit_tests
from pipelines.generator import generate
from tests import independent
from tests.conftest import assert_every_dbt_unit_test_passes
from tests.independent import (
    REFERENCE,
    intervention_metrics,
    read_landing,
    region_of,
    tiers_on,
    totals,
)

# Four municipalities in four regions: CSV (utf-8), JSONL, XLSX and a second CSV.
MUNICIPALITIES = ["091", "837", "564", "179"]
PUBLISHED_LEVEL_TABLES = ["absence_rates", "attendance_tiers", "intervention_metrics",
                          "interventions_by_type", "interventions_by_dimension",
                          "support_caseload", "absence_by_weekday", "absence_streaks",
                          "intervention_effect"]
# Local ladders (DESIGN §7.2) configured for the run, as a deployment would: a daily
# municipality and the weekly one, whose pupils cross on Sundays.
LADDERS = {"091": [Fraction(30), Fraction(60)], "564": [Fraction(20), Fraction(45, 2)]}
THRESHOLD = 5  # the default suppression threshold


def absence(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    landing, warehouse = root / "landing", root / "warehouse"
    generate(landing, municipalities=MUNICIPALITIES, start=date(2026, 8, 10), days=45, seed=7)
    ladders = root / "ladders.csv"
    ladders.write_text("municipality_code,threshold_lessons,label\n" + "".join(
        f"{code},{float(t)},{float(t)} h\n" for code, steps in LADDERS.items() for t in steps),
        "utf-8")
    env = {**os.environ, "ABSENCE_PSEUDONYM_KEY": "e2e-key", "DAGSTER_HOME": str(root / "dh"),
           "ABSENCE_LOCAL_THRESHOLDS": str(ladders)}
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


def test_the_dbt_unit_tests_pass_on_duckdb(published, tmp_path):
    """The nightly build leaves dbt's unit tests out (pipelines/dbt_project.py); here they run
    against the night's warehouse, every one of them (Spark: tests/test_engines.py)."""
    settings = Settings.from_env(published["env"], landing=published["landing"],
                                 warehouse=published["warehouse"])
    result = run_unit_tests(settings, tmp_path / "target", published["env"])
    assert_every_dbt_unit_test_passes(result, tmp_path / "target")


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


# -- planning and evaluation (DESIGN §7.2), national and municipality rows --------------------

def _published(warehouse: Path, table: str, keys: list[str], where: str = "") -> dict:
    """The national and municipality rows of a table in the national file, by
    (municipality_code, *keys) -> {column: value}."""
    path = warehouse / "published" / "national.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f"""
            select * from {table}
            where level in ('national', 'municipality') {where}""")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    assert {r["school_year"] for r in rows} == {"2026-2027"}
    return {(r["municipality_code"], *(r[k] for k in keys)): r for r in rows}


def _same(published_value, expected) -> bool:
    if expected is None or published_value is None:
        return published_value is expected
    if isinstance(expected, Fraction | float):
        return published_value == pytest.approx(float(expected), abs=1e-9)
    return published_value == expected


def _equal_where_published(table: str, published: dict, expected: dict, count: str,
                           partial: tuple[str, ...] = ()) -> int:
    """Every row the recomputation expects is published and no other; an unsuppressed row
    equals it column by column; a suppressed row shows no figure and, unless it was only
    hidden to protect a sibling, rests on fewer than THRESHOLD pupils. Columns of a partial
    rule may be hidden together. Returns how many rows were compared."""
    assert set(published) == set(expected), table
    compared = 0
    for key, want in expected.items():
        row = published[key]
        if row["suppressed"]:
            assert all(row[c] is None for c in want), (table, key)
            continue
        assert want[count] >= THRESHOLD, (table, key)
        hidden = partial and row[partial[0]] is None
        if hidden:
            assert all(row[c] is None for c in partial), (table, key)
        for column, value in want.items():
            if not (hidden and column in partial):
                assert _same(row[column], value), (table, key, column, row[column], value)
        compared += 1
    return compared


def test_support_caseload_equals_the_raw_files_on_every_sunday(published):
    expected = independent.support_caseload(published["raw"])
    rows = _published(published["warehouse"], "support_caseload", ["as_of_date"],
                      "and grade_band = 'all'")
    assert _equal_where_published("support_caseload", rows, expected,
                                  "students_with_tier") > len(expected) / 2
    national = [v for (place, _), v in expected.items() if place is None]
    # The sample holds waits of every kind, overdue ones too.
    for column in ("awaiting_targeted", "overdue_targeted", "awaiting_intensive",
                   "overdue_intensive"):
        assert max(v[column] for v in national) > 0, column


def test_local_ladder_crossings_equal_the_raw_files(published):
    expected = {(m, term, float(t)): row for (m, term, t), row in
                independent.local_threshold_crossings(published["raw"], LADDERS).items()}
    rows = _published(published["warehouse"], "local_threshold_crossings",
                      ["term", "threshold_lessons"])
    assert {m for m, _, _ in rows} == set(LADDERS)  # only municipalities with a ladder
    assert {r["label"] for r in rows.values()} >= {"30.0 h", "22.5 h"}
    assert _equal_where_published("local_threshold_crossings", rows, expected, "crossed") >= 4
    both = [r for (m, term, _), r in expected.items() if term == "all"]
    assert any(0 < r["responded"] < r["crossed"] for r in both)  # answered and unanswered


def test_absence_by_weekday_equals_the_one_day_records(published):
    expected = independent.absence_by_weekday(published["raw"])
    rows = _published(published["warehouse"], "absence_by_weekday", ["term", "weekday"])
    assert _equal_where_published("absence_by_weekday", rows, expected, "students") == \
        len(expected)
    # The weekly municipality (564) reports no weekday: it has no rows.
    assert "564" not in {m for m, _, _ in rows}
    assert {w for _, _, w in rows} == {1, 2, 3, 4, 5}


def test_absence_streaks_equal_the_one_day_records(published):
    expected = independent.absence_streaks(published["raw"])
    rows = _published(published["warehouse"], "absence_streaks", ["term"])
    assert _equal_where_published("absence_streaks", rows, expected, "students") == \
        len(expected)
    national = expected[(None, "all")]
    assert national["students_streak_10_or_more"] > 0  # the sample has long illness spells
    assert national["students_streak_3_or_more"] > national["students_streak_10_or_more"]


def test_intervention_effect_equals_the_raw_files(published):
    expected = independent.intervention_effect(published["raw"])
    rows = _published(published["warehouse"], "intervention_effect", ["intervention_type"])
    compared = _equal_where_published(
        "intervention_effect", rows, expected, "students_in_change",
        partial=("comparison_students", "comparison_mean_change", "difference"))
    assert compared >= 5
    national = rows[(None, "all")]
    assert national["comparison_students"] >= THRESHOLD and national["difference"] is not None
    # The comparison group is the place's, on every type's row.
    assert {r["comparison_students"] for (m, _), r in rows.items()
            if m is None and not r["suppressed"]} == {national["comparison_students"]}


def test_region_file_holds_its_own_region_and_the_country_and_no_pupil_level(published):
    """DESIGN §8.1: a region compares itself with the country without a second file."""
    region = region_of()["091"]
    for table in PUBLISHED_LEVEL_TABLES:
        rows = query(published["warehouse"],
                     f"select distinct level, region_code from {table}", region)
        assert {(level, code) for level, code in rows if level == "national"} <= {
            ("national", None)}
        assert {code for level, code in rows if level != "national"} == {region}, table
        assert {level for level, _ in rows} == {"national", "region", "municipality", "school"}
        national = query(published["warehouse"],
                         f"select * from {table} where level = 'national' order by all")
        assert query(published["warehouse"],
                     f"select * from {table} where level = 'national' order by all",
                     region) == national, table
    # A ladder is a municipality's own: its region file holds its municipality and schools.
    local = query(published["warehouse"], """
        select distinct level, region_code, municipality_code from local_threshold_crossings""",
                  region)
    assert {(level, rcode, mcode) for level, rcode, mcode in local} == {
        ("municipality", region, "091"), ("school", region, "091")}
    tables = {r[0] for r in query(published["warehouse"],
                                  "select table_name from information_schema.tables")}
    assert tables == {*PUBLISHED_LEVEL_TABLES, "local_threshold_crossings", "data_freshness"}
    columns = {r[0] for r in query(published["warehouse"],
                                   "select column_name from information_schema.columns")}
    assert not columns & {"student_key", "learner_oid", "oppilas_id", "student_ref"}


def test_query_command_reads_the_published_file(published):
    result = absence("query", "--warehouse", str(published["warehouse"]), "--csv",
                     "select count(*) as n from data_freshness where status = 'ok'",
                     env=published["env"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["n", str(len(MUNICIPALITIES))]


def test_a_second_run_with_nothing_new_changes_nothing(published):
    before = query(published["warehouse"], "select * from absence_rates order by all")
    run = absence("run", "--landing", str(published["landing"]), "--warehouse",
                  str(published["warehouse"]), env=published["env"])
    assert run.returncode == 0, run.stderr[-2000:]
    assert "LOADED" not in run.stdout
    # Nothing the publication is made from changed: it stands, and nothing was built.
    assert "unchanged: nothing new since the last publication" in run.stdout
    assert "dbt build log" not in run.stdout
    assert query(published["warehouse"], "select * from absence_rates order by all") == before


# -- for the people who read them (DESIGN §8.1) -------------------------------------------------

def _reference() -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """municipality -> (name, region) and region -> name, from the reference files."""
    with REFERENCE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return ({r["kunta_code"]: (r["kunta_name_fi"], r["maakunta_code"]) for r in rows},
            {r["maakunta_code"]: r["maakunta_name_fi"] for r in rows})


def test_names_beside_codes_match_the_reference_and_are_null_above_the_level(published):
    municipalities, regions = _reference()
    for region in (None, region_of()["091"]):
        for table in [*PUBLISHED_LEVEL_TABLES, "local_threshold_crossings"]:
            for level, rcode, rname, mcode, mname in query(published["warehouse"], f"""
                    select distinct level, region_code, region_name, municipality_code,
                           municipality_name from {table}""", region):
                assert rname == (regions[rcode] if rcode else None), (table, level)
                assert mname == (municipalities[mcode][0] if mcode else None), (table, level)
                assert (rcode is None) == (level == "national")
                assert (mcode is None) == (level in ("national", "region"))


def test_data_freshness_has_every_municipality_and_says_why(published):
    municipalities, regions = _reference()
    rows = query(published["warehouse"], """
        select municipality_code, municipality_name, region_code, region_name, status,
               last_error from data_freshness""")
    assert {r[0] for r in rows} == set(municipalities)
    for code, name, rcode, rname, status, error in rows:
        assert (name, rcode, rname) == (municipalities[code][0], municipalities[code][1],
                                        regions[municipalities[code][1]])
        expected = "ok" if code in MUNICIPALITIES else "not_onboarded"
        assert status == expected
        assert (error is None) == (status == "ok")
    region = region_of()["091"]
    in_region = query(published["warehouse"], "select municipality_code from data_freshness",
                      region)
    assert {r[0] for r in in_region} == {c for c, (_, r) in municipalities.items()
                                         if r == region}


def test_data_through_and_provisional_follow_coverage(published):
    """data_through = the earliest coverage_end among the municipalities in the row;
    provisional = the period ends later than data_through minus 14 days."""
    coverage = {m: d for m, d in query(published["warehouse"], """
        select municipality_code, coverage_end from data_freshness where status = 'ok'""")}
    rows = query(published["warehouse"], """
        select level, region_code, municipality_code, period_end, data_through, provisional
        from absence_rates where grade_band = 'all'""")
    regions = region_of()
    for level, rcode, mcode, period_end, through, provisional in rows:
        members = [m for m in coverage if level == "national"
                   or (level == "region" and regions[m] == rcode) or m == mcode]
        assert through == min(coverage[m] for m in members)
        assert provisional == (period_end > through - timedelta(days=14))
    tiers = query(published["warehouse"], """
        select as_of_date, data_through, provisional from attendance_tiers
        where level = 'national'""")
    assert all(p == (d > t - timedelta(days=14)) for d, t, p in tiers)
    assert {p for _, _, p in tiers} == {True, False}


def test_ten_percent_or_more_and_the_pupils_behind_the_change(published):
    for targeted, intensive, ten, with_tier, share in query(published["warehouse"], """
            select targeted_students, intensive_students, students_10pct_or_more,
                   students_with_tier, share_10pct_or_more
            from attendance_tiers where not suppressed"""):
        assert ten == targeted + intensive
        assert share == pytest.approx(ten / with_tier, abs=1e-12)
    expected = intervention_metrics(published["raw"])
    for term, in_change, change in query(published["warehouse"], """
            select term, students_in_change, mean_rate_change_after_intervention
            from intervention_metrics where level = 'national'"""):
        count = expected[term]["students_in_change"]
        # Fewer than 5 pupils behind a mean: both hidden (partial suppression).
        assert (in_change, change is None) == ((count, False) if count >= 5 else (None, True))


def test_interventions_by_dimension_add_up_without_double_counting(published):
    by_type = {(t, d): n for t, d, n in query(published["warehouse"], """
        select term, dimension, sum(interventions) from interventions_by_type
        where level = 'national' group by all""")}
    rows = query(published["warehouse"], """
        select term, dimension, interventions, students from interventions_by_dimension
        where level = 'national'""")
    for term, dimension, interventions, students in rows:
        if dimension == "all":
            assert interventions == sum(n for (t, _), n in by_type.items() if t == term)
            per_dimension = [s for t, d, _, s in rows if t == term and d != "all"]
            assert max(per_dimension) <= students <= sum(per_dimension)
        else:
            assert interventions == by_type[(term, dimension)]
    names = dict(query(published["warehouse"], """
        select distinct intervention_type, intervention_name_fi from interventions_by_type"""))
    assert names["concern_raised"] == "Huolen puheeksi ottaminen"


def test_counts_are_bigint_and_rates_double_with_definitions_attached(published):
    from pipelines.publish.definitions import published_docs

    docs = published_docs(Path(__file__).resolve().parents[1] / "dbt_project")
    path = published["warehouse"] / "published" / "national.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        types = con.execute("select table_name, column_name, data_type, comment "
                            "from duckdb_columns() where not internal").fetchall()
        tables = dict(con.execute("select table_name, comment from duckdb_tables() "
                                  "where not internal").fetchall())
    assert not [t for t in types if t[2].startswith("DECIMAL")]
    kinds = {(t, c): k for t, c, k, _ in types}
    assert kinds[("absence_rates", "students")] == "BIGINT"
    assert kinds[("absence_rates", "absence_rate")] == "DOUBLE"
    for table, column, _, comment in types:
        assert comment == docs[table].columns[column] and comment, (table, column)
    for table, comment in tables.items():
        assert comment == docs[table].description and comment
    parquet = pq.read_schema(published["warehouse"] / "published" / "parquet" /
                             "absence_rates" / "national.parquet")
    assert parquet.field("absence_rate").metadata[b"description"].decode() == \
        docs["absence_rates"].columns["absence_rate"]
    assert not [f for f in parquet if str(f.type).startswith("decimal")]


def _finnish_csv(path: Path) -> list[dict]:
    """A Finnish Excel user's reading: BOM, ';', decimal comma."""
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def _round_trip(folder: Path, region: str | None, warehouse: Path, table: str,
                keys: list[str], measures: list[str]) -> int:
    """Each published row of `table` against its CSV row; returns how many were suppressed."""
    rows = {tuple(r[k] for k in keys): r for r in _finnish_csv(folder / f"{table}.csv")}
    published = query(warehouse, f"""
        select {", ".join(keys + measures)}, suppressed from {table}""", region)
    assert len(rows) == len(published), table
    suppressed_seen = 0
    for values in published:
        key, measured, suppressed = values[:len(keys)], values[len(keys):-1], values[-1]
        row = rows[tuple("" if v is None else str(v) for v in key)]
        assert row["suppressed"] == ("true" if suppressed else "false")
        for column, value in zip(measures, measured, strict=True):
            if suppressed:
                assert row[column] == "..", (table, column)
            elif value is None:
                assert row[column] == "", (table, column)
            else:
                assert float(row[column].replace(",", ".")) == value, (table, column)
        suppressed_seen += bool(suppressed)
    return suppressed_seen


def test_csv_exports_round_trip_in_the_finnish_dialect(published):
    exports = published["warehouse"] / "published" / "exports"
    unit = ["level", "region_code", "municipality_code", "school_code"]
    suppressed_seen = 0
    for folder, region in [(exports / "national", None),
                           (exports / "regions" / region_of()["091"], region_of()["091"])]:
        _round_trip(folder, region, published["warehouse"], "absence_rates",
                    unit + ["school_year", "period_type", "period_start", "grade_band"],
                    ["students", "absence_rate", "scheduled_lessons", "late_count"])
        suppressed_seen += _round_trip(
            folder, region, published["warehouse"], "interventions_by_type",
            unit + ["school_year", "term", "intervention_type"], ["interventions", "students"])
    assert suppressed_seen > 0  # small groups of pupils given one kind of support


def test_a_workbook_cell_that_starts_like_a_formula_stays_text(tmp_path):
    """Text in a published table (here a data_freshness reason and a name) is written as
    text: Excel never evaluates a cell of ours. Dates, counts and flags keep their types."""
    import pyarrow as pa
    from openpyxl import load_workbook

    from pipelines.publish.exports import write_workbook

    table = pa.table({"municipality_name": ["=HYPERLINK(\"http://x\",\"y\")", "+1"],
                      "coverage_end": pa.array([date(2026, 11, 27), None], pa.date32()),
                      "rejected_rows": pa.array([3, 0], pa.int64()),
                      "status": ["ok", "@SUM(A1)"]})
    path = tmp_path / "national.xlsx"
    write_workbook(path, {"data_freshness": table}, {}, [])
    book = load_workbook(path)  # not read-only: formulas keep their type there
    sheet = book["data_freshness"]
    assert [c.value for c in sheet[1]] == table.column_names
    cells = [list(row) for row in sheet.iter_rows(min_row=2)]
    assert all(row[0].data_type == "s" and row[3].data_type == "s" for row in cells)
    assert [row[0].value for row in cells] == table["municipality_name"].to_pylist()
    assert [row[3].value for row in cells] == table["status"].to_pylist()
    assert cells[0][1].value.date() == date(2026, 11, 27) and cells[1][1].value is None
    assert [row[2].value for row in cells] == [3, 0]


def test_the_workbook_holds_every_table_and_the_legend(published):
    from openpyxl import load_workbook

    path = published["warehouse"] / "published" / "exports" / "national" / "national.xlsx"
    book = load_workbook(path, read_only=True)
    assert set(book.sheetnames) == {*PUBLISHED_LEVEL_TABLES, "local_threshold_crossings",
                                    "data_freshness", "Selite"}
    rates = list(book["absence_rates"].iter_rows(values_only=True))
    header, body = rates[0], rates[1:]
    assert len(body) == query(published["warehouse"],
                              "select count(*) from absence_rates")[0][0]
    suppressed = header.index("suppressed")
    for row in body:
        if row[suppressed] is True:
            assert row[header.index("students")] == ".."
        else:
            assert isinstance(row[header.index("students")], int)
    legend = [row for row in book["Selite"].iter_rows(values_only=True)]
    assert any(row[1] == ".." for row in legend)
    assert any(row[0] == "absence_rates" and row[1] == "absence_rate" and row[2]
               for row in legend)
    book.close()


def test_exports_written_by_workers_equal_those_written_in_one_process(published, tmp_path):
    """A large publication's exports are split over forked workers (pipelines/publish/
    exports.py); forced here on the small one, they are the same files, cell for cell."""
    from openpyxl import load_workbook

    from pipelines.publish.exports import write_exports

    written = {}
    for name, workers in (("one", 1), ("workers", 2)):
        warehouse = tmp_path / name
        shutil.copytree(published["warehouse"] / "published", warehouse / "published",
                        ignore=shutil.ignore_patterns("exports"))
        settings = Settings.from_env(published["env"], landing=published["landing"],
                                     warehouse=warehouse)
        paths = write_exports(settings, workers=workers, parallel_from_rows=0)
        written[name] = {p.relative_to(warehouse): p for p in paths}
    assert sorted(written["one"]) == sorted(written["workers"])
    assert len(written["one"]) > 2 * len(PUBLISHED_LEVEL_TABLES)  # national and regions
    for relative, path in written["one"].items():
        other = written["workers"][relative]
        if path.suffix == ".csv":
            assert path.read_bytes() == other.read_bytes(), relative
            continue
        books = [load_workbook(p, read_only=True) for p in (path, other)]
        assert books[0].sheetnames == books[1].sheetnames
        for sheet in books[0].sheetnames:
            assert list(books[0][sheet].iter_rows(values_only=True)) == \
                list(books[1][sheet].iter_rows(values_only=True)), (relative, sheet)
        for book in books:
            book.close()


def test_the_reports_are_written_with_the_publication(published):
    reports = published["warehouse"] / "published" / "reports"
    regions = sorted(p.stem for p in (published["warehouse"] / "published" / "regions")
                     .glob("*.duckdb"))
    assert sorted(p.stem for p in (reports / "regions").glob("*.html")) == regions
    page = (reports / "national.html").read_text("utf-8")
    assert "<script" in page and "http://" not in page.replace("http://www.w3.org", "")
    assert "Koko maa" in page


def _guide_queries() -> list[str]:
    """Every SQL statement of the officials' guide (warehouse/README.md), as printed there."""
    guide = (Path(__file__).parents[1] / "warehouse" / "README.md").read_text("utf-8")
    blocks = [b.split("```", 1)[0] for b in guide.split("```sql")[1:]]
    return [s.strip() for block in blocks for s in block.split(";") if s.strip()]


def test_every_query_in_the_officials_guide_answers_from_a_region_file(published):
    """The guide's seven questions are copy-paste SQL against a region file (091 is in 01,
    the region the guide uses): each statement runs as printed and returns rows."""
    queries = _guide_queries()
    assert len(queries) >= 7
    for sql in queries:
        assert "'01'" not in sql and "regions/" not in sql, "the guide picks the file, not SQL"
        rows = query(published["warehouse"], sql, region="01")
        assert rows, sql.splitlines()[0]
    # Question 1 compares the region with the country inside the one file.
    rows = query(published["warehouse"], queries[0], region="01")
    assert {r[0] for r in rows} == {"national", "region"}


def test_make_docs_writes_one_offline_dbt_docs_page(published, tmp_path):
    """`make docs`: the dbt docs of the built warehouse, one page that loads nothing."""
    import re
    import shutil

    warehouse = tmp_path / "warehouse"
    shutil.copytree(published["warehouse"], warehouse,
                    ignore=shutil.ignore_patterns("published", ".dagster"))
    env = {**published["env"], "ABSENCE_WAREHOUSE": str(warehouse)}
    result = subprocess.run([sys.executable, "-m", "pipelines.dbt_docs"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    page = (warehouse / "docs" / "dbt" / "index.html").read_text("utf-8")
    assert "absence_rates" in page and "interventions_by_dimension" in page
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", page)
