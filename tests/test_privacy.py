"""Privacy guarantees (DESIGN §4.4, §8), tried the way an attacker or auditor would."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.audit import audit, sensitive_values
from pipelines.config import Settings
from pipelines.generator import generate
from pipelines.ingest.pseudonym import KEY_ENV, load_key
from pipelines.orchestrate import run_pipeline

KEY = "privacy-test-key-7f3a9c"


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("privacy")
    os.environ[KEY_ENV] = KEY
    os.environ["DAGSTER_HOME"] = str(root / "dagster")
    settings = Settings.from_env(landing=root / "landing", warehouse=root / "warehouse")
    generate(settings.landing, municipalities=["091", "837", "564"], start=date(2026, 8, 10),
             days=10, seed=5)
    outcome = run_pipeline(settings)
    assert outcome.published, outcome.error
    return settings


def test_the_input_really_carries_names_identity_codes_and_free_text(pipeline_run):
    kinds = set(sensitive_values(pipeline_run.landing).values())
    assert {"pupil identifier", "value of dropped column hetu",
            "value of dropped column sukunimi", "value of dropped column lisatiedot"} <= kinds


def test_nothing_written_holds_an_input_secret_or_identity_code(pipeline_run):
    assert audit(pipeline_run.warehouse, pipeline_run.landing) == []


def test_the_audit_finds_a_planted_leak_without_repeating_it(pipeline_run):
    secrets = sensitive_values(pipeline_run.landing)
    name = next(v for v, kind in secrets.items() if kind == "value of dropped column sukunimi")
    leak = pipeline_run.warehouse / "canonical" / "students" / "zz_leak.parquet"
    pq.write_table(pa.table({"note": [name]}), leak)
    try:
        findings = audit(pipeline_run.warehouse, pipeline_run.landing)
        run = subprocess.run([sys.executable, "-m", "pipelines.cli", "audit", "--warehouse",
                              str(pipeline_run.warehouse), "--landing",
                              str(pipeline_run.landing)], capture_output=True, text=True,
                             timeout=300)
    finally:
        leak.unlink()
    assert [(f.file, f.where) for f in findings] == [(str(leak), "column note")]
    assert findings[0].kind.startswith("value of dropped column")
    assert run.returncode == 1 and name not in run.stdout + run.stderr


@pytest.mark.parametrize("where", ["reason.json", "published"])
def test_the_audit_finds_a_name_quoted_inside_a_longer_string(pipeline_run, where):
    """A reason quoting a cell, `koulu: not 5 digits ('Turunen Ella')`, leaks the name even
    though no cell equals it: the audit matches words inside every string, published files
    included."""
    secrets = sensitive_values(pipeline_run.landing)
    name = next(v for v, kind in secrets.items() if kind == "value of dropped column sukunimi")
    reason = f"oppilaat.csv, row 3, column koulu: school code is not 5 digits ('{name} Ella')"
    if where == "reason.json":
        leak = pipeline_run.quarantine / "091" / "zz" / "reason.json"
        leak.parent.mkdir(parents=True)
        leak.write_text(json.dumps({"reason": reason}))
    else:
        leak = pipeline_run.published / "parquet" / "zz_leak.parquet"
        pq.write_table(pa.table({"last_error": ["ok", reason]}), leak)
    try:
        findings = audit(pipeline_run.warehouse, pipeline_run.landing)
    finally:
        leak.unlink()
    assert [f.file for f in findings] == [str(leak)]


def test_the_key_is_never_written(pipeline_run):
    """Not in the warehouse, nor in Dagster's run storage, event logs and compute logs."""
    dagster_home = pipeline_run.warehouse.parent / "dagster"
    for folder in (pipeline_run.warehouse, dagster_home):
        files = [p for p in folder.rglob("*") if p.is_file()]
        assert files, folder
        for path in files:
            assert KEY.encode() not in path.read_bytes(), path


def test_a_region_file_holds_no_other_region(pipeline_run):
    """Its own region's rows, and the country's (region_code null) for comparison."""
    import duckdb

    from pipelines.tables import PUBLISHED_TABLES

    regions = sorted(p.stem for p in (pipeline_run.published / "regions").glob("*.duckdb"))
    assert len(regions) == 3
    for region in regions:
        with duckdb.connect(str(pipeline_run.published / "regions" / f"{region}.duckdb"),
                            read_only=True) as con:
            for table in PUBLISHED_TABLES:
                codes = {r[0] for r in con.execute(
                    f"select distinct region_code from {table}").fetchall()}
                assert codes <= {region, None}, (region, table, codes)


def test_published_files_are_not_world_readable(pipeline_run):
    for path in pipeline_run.published.rglob("*"):
        if path.is_file():
            assert not path.stat().st_mode & stat.S_IROTH, path


def test_a_run_without_a_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    run = subprocess.run([sys.executable, "-m", "pipelines.cli", "run", "--landing",
                          str(tmp_path / "landing"), "--warehouse", str(tmp_path / "wh")],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2
    assert KEY_ENV in run.stderr
    assert not (tmp_path / "wh" / "absence.duckdb").exists()


def test_the_demo_key_file_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    key = load_key(tmp_path, "", create=True)
    mode = stat.S_IMODE((tmp_path / "pseudonym.key").stat().st_mode)
    assert mode == 0o600 and len(key) >= 32
    assert load_key(tmp_path) == key  # the same pupil keeps the same key across nights
