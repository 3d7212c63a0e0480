"""The production path, for real: a PostgreSQL server (Debian's package, started here on a free
loopback port as a non-root user), the production instance config (config/production/
dagster.yaml), a real `dagster-daemon`. Drops land; the daemon's landing sensor queues ingest
runs and its run queue launches them; the nightly job is submitted to the queue like the
schedule does and publishes. No in-process shortcut: this process only writes files, submits
through the `dagster` command and reads the instance."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from benchmarks import postgres_server
from pipelines.generator import generate

ROOT = Path(__file__).parents[1]
BIN = Path(sys.executable).parent
MUNICIPALITIES = ["091", "837"]


@pytest.fixture(scope="module")
def postgres():
    try:
        with postgres_server.running() as variables:
            yield variables
    except postgres_server.Unavailable as why:
        pytest.skip(str(why))


def _instance(home: Path):
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def _runs(instance, job: str) -> list:
    import dagster as dg

    return list(instance.get_runs(dg.RunsFilter(job_name=job)))


def _wait(predicate, timeout: float, what: str, daemon, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if daemon.poll() is not None:
            break
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}; daemon log:\n"
                         + log.read_text("utf-8", errors="replace")[-4000:])


@pytest.fixture(scope="module")
def night(postgres, tmp_path_factory):
    import dagster as dg

    root = tmp_path_factory.mktemp("daemon")
    home, landing, warehouse = root / "dagster_home", root / "landing", root / "warehouse"
    home.mkdir()
    shutil.copy(ROOT / "config" / "production" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **postgres, "DAGSTER_HOME": str(home),
           "ABSENCE_LANDING": str(landing), "ABSENCE_WAREHOUSE": str(warehouse),
           "ABSENCE_PSEUDONYM_KEY": "daemon-test-key", "PATH": f"{BIN}:{os.environ['PATH']}"}
    generate(landing, municipalities=MUNICIPALITIES, start=date(2026, 8, 10), days=12, seed=3)
    log = root / "daemon.log"
    mp = pytest.MonkeyPatch()
    for name, value in postgres.items():  # this process reads the instance too
        mp.setenv(name, value)
    with open(log, "wb") as out:
        daemon = subprocess.Popen(
            [BIN / "dagster-daemon", "run", "-w", ROOT / "deploy" / "workspace.yaml"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)  # its code server and run workers die with it
    try:
        instance = _instance(home)
        ingest = _wait(lambda: (lambda runs: runs if len(runs) == len(MUNICIPALITIES) and all(
            r.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)
            for r in runs) else None)(_runs(instance, "ingest_job")),
            300, "the sensor's ingest runs", daemon, log)
        # What the schedule does at 05:00: a run of publish_job enters the queue.
        launched = subprocess.run(
            [BIN / "dagster", "job", "launch", "-w", ROOT / "deploy" / "workspace.yaml",
             "-j", "publish_job"], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=300)
        assert launched.returncode == 0, launched.stderr[-3000:]
        publish = _wait(lambda: (lambda runs: runs[0] if runs and runs[0].is_finished
                                 else None)(_runs(instance, "publish_job")),
                        600, "the nightly publish run", daemon, log)
        yield {"instance": instance, "ingest": ingest, "publish": publish,
               "warehouse": warehouse, "home": home, "launched": launched}
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.pid, signal.SIGKILL)
        mp.undo()


def test_the_instance_is_postgres_with_a_run_queue(night):
    instance = night["instance"]
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
    # No SQLite storage was created beside the config.
    assert not list(night["home"].rglob("*.db"))


def test_the_sensor_queued_one_tagged_ingest_run_per_drop(night):
    import dagster as dg

    runs = night["ingest"]
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert sorted(r.tags["absence/municipality"] for r in runs) == MUNICIPALITIES
    assert all(r.tags["dagster/sensor_name"] == "landing_sensor" for r in runs)
    assert all(r.tags["absence/outcome"] == "loaded" and r.tags["absence/extract_id"]
               for r in runs)


def test_the_queued_nightly_run_published_both_municipalities(night):
    import dagster as dg

    assert night["publish"].status == dg.DagsterRunStatus.SUCCESS
    national = night["warehouse"] / "published" / "national.duckdb"
    with duckdb.connect(str(national), read_only=True) as con:
        ok = con.execute("select municipality_code from data_freshness where status = 'ok' "
                         "order by 1").fetchall()
    assert [m for (m,) in ok] == MUNICIPALITIES
