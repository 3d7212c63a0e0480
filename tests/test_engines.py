"""One dbt project, two engines (DESIGN §8.2): the same generated landing zone through
`absence run` on DuckDB (the embedded default) and with ABSENCE_ENGINE=spark (dbt-spark's
`session` method on a local PySpark), and every published table equal: counts exactly,
rates within 1e-9, the same suppressed cells, in the national file and in every region file.

Each run is the whole product: ingest, `dbt build` (models and data tests), the quality gate
and publishing; the dbt unit tests, which the night leaves out, then run on the Spark run's
warehouse. The Spark run reads its marts from Parquet (pipelines/marts.py); nothing after
dbt knows which engine ran.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.config import Settings
from pipelines.dbt_project import run_unit_tests
from pipelines.generator import generate
from pipelines.tables import PUBLISHED, PUBLISHED_TABLES
from tests.conftest import assert_every_dbt_unit_test_passes

# Six municipalities of six regions, the three profiles twice (CSV, JSONL, XLSX, ...).
MUNICIPALITIES = ["091", "837", "564", "179", "853", "286"]
# Columns that say when this warehouse loaded a drop, not what the data say.
LOAD_TIMES = {("data_freshness", "last_loaded_at")}
TOLERANCE = 1e-9

def _spark_installed() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import importlib.util, sys; "
                            "sys.exit(importlib.util.find_spec('pyspark') is None)"],
                           capture_output=True)
    return probe.returncode == 0 and shutil.which("java") is not None


def absence(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], env=env,
                          capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    if not _spark_installed():
        pytest.skip("the Spark engine needs Java 17 and the spark extra "
                    "(`make test` installs it)")
    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    generate(landing, municipalities=MUNICIPALITIES, start=date(2026, 8, 10), days=30, seed=11)
    ladders = root / "ladders.csv"
    ladders.write_text("municipality_code,threshold_lessons,label\n"
                       "091,12.0,12 h\n091,24.0,24 h\n564,10.0,10 h\n", "utf-8")
    results = {}
    for engine in ("spark", "duckdb"):
        env = {**os.environ, "ABSENCE_PSEUDONYM_KEY": "engines-key",
               "DAGSTER_HOME": str(root / f"dh-{engine}"), "ABSENCE_ENGINE": engine,
               "ABSENCE_LOCAL_THRESHOLDS": str(ladders),
               "ABSENCE_SPARK_SHUFFLE_PARTITIONS": "4"}
        warehouse = root / f"warehouse-{engine}"
        results[engine] = {"published": warehouse / "published", "warehouse": warehouse,
                           "env": env}
    # Spark first; then its dbt unit tests (which need its built warehouse) run beside the
    # DuckDB night: both mostly wait, on the JVM and on dbt, so together they take less time.
    spark = results["spark"]
    spark["run"] = absence("run", "--landing", str(landing), "--warehouse",
                           str(spark["warehouse"]), env=spark["env"])
    settings = Settings.from_env(spark["env"], warehouse=spark["warehouse"], landing=landing)
    with ThreadPoolExecutor(1) as pool:
        unit_tests = pool.submit(run_unit_tests, settings, root / "unit-target", spark["env"])
        duck = results["duckdb"]
        duck["run"] = absence("run", "--landing", str(landing), "--warehouse",
                              str(duck["warehouse"]), env=duck["env"])
        spark["unit_tests"] = unit_tests.result()
    spark["unit_target"] = root / "unit-target"
    return results


def _rows(path: Path, table: str) -> list[dict]:
    keys = PUBLISHED[table].with_role("key")
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(f'select * from "{table}" order by '
                             + ", ".join(f'"{k}" nulls first' for k in keys))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _types(path: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select column_name, data_type from information_schema.columns "
                           "where table_name = ? order by ordinal_position", [table]).fetchall()


def _same(table: str, column: str, left, right) -> bool:
    if (table, column) in LOAD_TIMES:
        return True
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float) or isinstance(right, float):
        return math.isclose(float(left), float(right), rel_tol=0, abs_tol=TOLERANCE)
    return left == right


def _files(published: Path) -> list[Path]:
    return [published / "national.duckdb", *sorted((published / "regions").glob("*.duckdb"))]


def test_both_engines_run_the_whole_night(runs):
    for engine, result in runs.items():
        run = result["run"]
        assert run.returncode == 0, (engine, run.stdout[-3000:], run.stderr[-3000:])
        assert run.stdout.count("LOADED") == len(MUNICIPALITIES), (engine, run.stdout)
    # Spark built the marts as Parquet, where publishing read them; DuckDB did not.
    spark_marts = runs["spark"]["warehouse"] / "spark" / "marts"
    assert {p.name for p in spark_marts.iterdir()} >= set(PUBLISHED_TABLES)
    assert not (runs["duckdb"]["warehouse"] / "spark").exists()


def test_the_dbt_unit_tests_pass_on_spark(runs):
    """The nightly build leaves dbt's unit tests out (pipelines/dbt_project.py); they ran on
    dbt-spark against the Spark run's warehouse (DuckDB: tests/test_end_to_end.py)."""
    spark = runs["spark"]
    assert spark["run"].returncode == 0, spark["run"].stderr[-3000:]
    assert_every_dbt_unit_test_passes(spark["unit_tests"], spark["unit_target"])


def test_the_same_files_are_published(runs):
    duck, spark = (runs[e]["published"] for e in ("duckdb", "spark"))
    assert [p.relative_to(duck) for p in _files(duck)] == \
        [p.relative_to(spark) for p in _files(spark)]
    assert len(_files(duck)) == 1 + len(MUNICIPALITIES)  # six regions


@pytest.mark.parametrize("table", PUBLISHED_TABLES)
def test_every_published_table_is_equal_on_both_engines(runs, table):
    duck, spark = (runs[e]["published"] for e in ("duckdb", "spark"))
    compared = unsuppressed = 0
    for left_file, right_file in zip(_files(duck), _files(spark), strict=True):
        left, right = _rows(left_file, table), _rows(right_file, table)
        where = f"{table} in {left_file.relative_to(duck)}"
        assert len(left) == len(right), where
        # The same columns with the same types (DESIGN §8.1: counts BIGINT, rates DOUBLE).
        assert _types(left_file, table) == _types(right_file, table), where
        for a, b in zip(left, right, strict=True):
            differing = [c for c in a if not _same(table, c, a[c], b[c])]
            assert not differing, (where, {c: (a[c], b[c]) for c in differing},
                                   {k: a[k] for k in PUBLISHED[table].with_role("key")})
            compared += 1
            unsuppressed += not a.get("suppressed", False)
    assert compared > 0, f"{table}: no rows published, nothing compared"
    if table in ("absence_rates", "attendance_tiers", "absence_by_weekday"):
        # The sample is large enough that the comparison is mostly of figures, not of `..`.
        assert unsuppressed > compared / 2, (table, unsuppressed, compared)


def test_what_spark_writes_is_restricted_like_the_warehouse(runs):
    """Pupil-level Parquet, the metastore and the marts under spark/ are the owner's only
    (DESIGN §4.4), as absence.duckdb is: Hadoop's file system applies a umask of its own."""
    spark = runs["spark"]["warehouse"] / "spark"
    paths = [p for p in spark.rglob("*") if not p.is_symlink()]
    assert any(p.suffix == ".parquet" for p in paths)
    loose = [p for p in paths if p.stat().st_mode & 0o077]
    assert not loose, [str(p.relative_to(spark)) for p in loose[:10]]


def test_spark_leaves_no_engine_running(runs):
    """dbt's Spark session lives in dbt's process: when the run is over no JVM of it is
    left holding the warehouse's metastore."""
    spark = runs["spark"]["warehouse"] / "spark"
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(spark) not in listing


def test_the_spark_extra_changes_nothing_in_our_own_processes():
    """With PySpark installed, pandera's import sets PYARROW_IGNORE_TIMEZONE=1, and pyarrow
    then drops the offset of every datetime it converts: an extract made at 12:00+03:00 was
    stored as 12:00 UTC, three hours in the future (a whole benchmark year was quarantined
    as "extracted_at is in the future"). pipelines/__init__.py keeps pyarrow's default and
    keeps PySpark out of our processes."""
    code = ("import sys, datetime as d, pyarrow as pa, pipelines.ingest.extract, "
            "pipelines.publish.publisher, quality.runner\n"
            "t = d.datetime(2026, 1, 1, 12, tzinfo=d.timezone(d.timedelta(hours=3)))\n"
            "print(pa.array([t], type=pa.timestamp('us', tz='UTC'))[0].as_py().hour)\n"
            "print(sys.modules.get('pyspark') is not None)\n")
    env = {k: v for k, v in os.environ.items() if k != "PYARROW_IGNORE_TIMEZONE"}
    probe = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c", code],
                           env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.split() == ["9", "False"]
