"""One settings object, built at the edge and passed down (pipelines/config.py).

A threshold given to `run_pipeline` must reach the ingest runs and the publish job; nothing
below the edge may read the environment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import duckdb
import pytest

from pipelines.config import ENVIRONMENT, Settings
from pipelines.defs.resources import AbsenceSettings
from pipelines.ingest import ledger
from pipelines.orchestrate import run_pipeline
from tests.conftest import TEST_KEY
from tests.lifecycle_helpers import drop, rewrite, sim

ROOT = Path(__file__).resolve().parents[1]
# Where the environment may be read: the edges (settings, the dbt project handle the
# definitions import, the benchmark's process setup) and nowhere else.
# pipelines/__init__.py sets a library's variable before any import (PYARROW_IGNORE_TIMEZONE,
# see there); it reads no setting.
EDGES = {"pipelines/config.py", "pipelines/dbt_project.py", "pipelines/defs/resources.py",
         "pipelines/__init__.py"}


def test_every_setting_comes_from_its_environment_variable(tmp_path):
    environ = {var: "" for var in ENVIRONMENT.values()}
    environ.update({
        "ABSENCE_LANDING": str(tmp_path / "in"), "ABSENCE_WAREHOUSE": str(tmp_path / "wh"),
        "ABSENCE_REJECT_THRESHOLD": "0.25", "ABSENCE_SUPPRESSION_THRESHOLD": "7",
        "ABSENCE_ROW_COUNT_TOLERANCE": "0.5", "ABSENCE_DBT_PROJECT_DIR": str(tmp_path / "dbt"),
        "ABSENCE_DUCKDB_MEMORY_LIMIT": "2GB", "ABSENCE_INGEST_MEMORY_LIMIT": "3",
        "ABSENCE_INGEST_TIMEOUT": "60", "ABSENCE_FRESHNESS_CLOCK": "wall",
        "DAGSTER_HOME": str(tmp_path / "dh"), "ABSENCE_PSEUDONYM_KEY": "secret",
        "ABSENCE_SOURCES": str(tmp_path / "sources.yaml"), "ABSENCE_ENGINE": "spark"})
    settings = Settings.from_env(environ)
    assert (settings.landing, settings.warehouse) == (tmp_path / "in", tmp_path / "wh")
    assert (settings.reject_threshold, settings.suppression_threshold) == (0.25, 7)
    assert settings.row_count_tolerance == 0.5 and settings.seeds == tmp_path / "dbt" / "seeds"
    assert settings.dbt_environment() == {"ABSENCE_WAREHOUSE": str(tmp_path / "wh"),
                                          "ABSENCE_DUCKDB_MEMORY_LIMIT": "2GB",
                                          "ABSENCE_ENGINE": "spark"}
    assert settings.spark_marts == tmp_path / "wh" / "spark" / "marts"
    assert settings.limits.memory_bytes == 3 << 30 and settings.limits.seconds == 60
    assert settings.dbt_vars() == {"freshness_clock": "wall"}
    assert settings.dagster_home_dir == tmp_path / "dh" and settings.pseudonym_key == "secret"
    assert "secret" not in repr(settings)
    assert settings.sources_file == tmp_path / "sources.yaml"
    # The resource carries exactly these values to Dagster's runs, and back.
    assert AbsenceSettings.of(settings).settings() == settings
    assert AbsenceSettings.of(settings).settings().pseudonym_key == "secret"


def test_flags_override_the_environment_and_the_threshold_has_a_floor(tmp_path):
    environ = {"ABSENCE_WAREHOUSE": str(tmp_path / "a"), "ABSENCE_SUPPRESSION_THRESHOLD": "1"}
    settings = Settings.from_env(environ, warehouse=tmp_path / "b")
    assert settings.warehouse == tmp_path / "b"
    assert settings.suppression_threshold == 3  # never below 3 (README: Privacy)


def test_nothing_below_the_edge_reads_the_environment():
    readers = []
    for path in sorted((ROOT / "pipelines").rglob("*.py")) + sorted(
            (ROOT / "quality").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        if relative in EDGES:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                    and isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(f"{relative}:{node.lineno}")
    assert readers == []


def test_thresholds_given_to_run_pipeline_reach_ingest_and_publishing(tmp_path):
    """Suppression at 30 pupils and a 50 % reject threshold, passed in Settings only: the
    published rows resting on fewer than 30 pupils are suppressed, and a drop with a fifth of
    its markings broken loads (at the default 5 % it would be quarantined)."""
    settings = Settings(landing=tmp_path / "landing", warehouse=tmp_path / "warehouse",
                        suppression_threshold=30, reject_threshold=0.5,
                        pseudonym_key=TEST_KEY, dagster_home=tmp_path / "dagster")
    folder = drop(sim("091", days=10, pupils=120), "lesson_marks_csv", settings.landing)
    broken = []

    def break_a_fifth(data: bytes) -> bytes:
        lines = data.decode("utf-8").splitlines(keepends=True)
        broken.extend(lines[1: 1 + (len(lines) - 1) // 5])
        return "".join([lines[0], *(line.replace(";", ";;", 1) for line in broken),
                        *lines[1 + len(broken):]]).encode("utf-8")
    rewrite(folder, "marks", break_a_fifth)  # a field too many on a fifth of the markings
    outcome = run_pipeline(settings)
    assert outcome.published, outcome.error
    (entry,) = ledger.read_entries(settings.ledger)
    assert entry["status"] == "loaded" and entry["rows_rejected"] >= len(broken) > 0
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        visible = con.execute("select min(students) from absence_rates "
                              "where not suppressed").fetchall()[0][0]
        hidden = con.execute("select count(*) from absence_rates where suppressed "
                             "and level = 'municipality'").fetchall()[0][0]
    assert visible >= 30 and hidden > 0


def test_local_ladders_reach_dbt_as_a_var_and_bad_rows_are_refused(tmp_path):
    """ABSENCE_LOCAL_THRESHOLDS names a CSV shaped like the dbt seed local_thresholds; its
    rows become the dbt var `local_thresholds` (int_local_thresholds)."""
    ladders = tmp_path / "ladders.csv"
    ladders.write_text("municipality_code,threshold_lessons,label\n091,30,30 h\n091,60.5,x\n",
                       "utf-8")
    settings = Settings.from_env({"ABSENCE_LOCAL_THRESHOLDS": str(ladders)})
    assert settings.local_thresholds == ladders
    assert settings.dbt_vars()["local_thresholds"] == [
        {"municipality_code": "091", "threshold_lessons": 30.0, "label": "30 h"},
        {"municipality_code": "091", "threshold_lessons": 60.5, "label": "x"}]
    assert AbsenceSettings.of(settings).settings().local_thresholds == ladders
    for bad in ("91,30,30 h", "091,0,none", "091,abc,x", "091,30,"):
        ladders.write_text(f"municipality_code,threshold_lessons,label\n{bad}\n", "utf-8")
        with pytest.raises(ValueError, match="row 1"):
            settings.dbt_vars()
    assert "local_thresholds" not in Settings.from_env({}).dbt_vars()
