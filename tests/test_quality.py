"""The quality layer on a real run: GX suites over the suppressed tables, the blocking gate in
`published_statistics`, the freshness check, ingest checks, and the run-failure alert.

One module-scoped night (3 municipalities of the three profiles × 20 school days, plus a
corrupted newer drop of 091 that must be quarantined) runs through `run_pipeline`, the code
path of `absence run`; the other tests reuse its warehouse and Dagster instance.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from pipelines.config import Settings
from pipelines.defs.resources import AbsenceSettings
from pipelines.generator import generate
from pipelines.orchestrate import run_pipeline
from pipelines.publish import publisher
from pipelines.publish.publisher import prepare, publish, read_marts
from pipelines.tables import PUBLISHED_TABLES
from quality.checks import CHECKS
from tests.conftest import TEST_KEY

MUNICIPALITIES = ["091", "837", "564"]  # lesson_marks_csv, daily_summary_jsonl, xlsx
CORRUPT_ID_SUFFIX = "-corrupt"


def _corrupt_copy(folder: Path) -> Path:
    """A newer delivery of the same municipality whose data file no longer matches its
    checksum: ingest must quarantine it whole and keep the earlier extract published."""
    copy = folder.with_name(folder.name + CORRUPT_ID_SUFFIX)
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text("utf-8"))
    first = next(iter(manifest["files"].values()))
    with (copy / first["path"]).open("ab") as handle:
        handle.write(b"tampered\n")
    return copy


def _check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list:
    return [e.dagster_event.event_specific_data for e in instance.all_logs(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    home = root / "dagster_home"
    # A local ladder for 091 and 837, so the gate also sees local_threshold_crossings rows.
    ladders = root / "ladders.csv"
    ladders.write_text("municipality_code,threshold_lessons,label\n"
                       "091,10,10 h\n091,20,20 h\n837,15,15 h\n", "utf-8")
    settings = Settings(landing=root / "landing", warehouse=root / "warehouse",
                        pseudonym_key=TEST_KEY, dagster_home=home, local_thresholds=ladders)
    folders = generate(settings.landing, municipalities=MUNICIPALITIES,
                       start=date(2026, 8, 10), days=20, seed=11)
    corrupt = _corrupt_copy(next(f for f in folders if f.parent.name == "091"))
    outcome = run_pipeline(settings)
    instance = dg.DagsterInstance.from_config(str(home))
    yield {"settings": settings, "outcome": outcome, "instance": instance,
           "corrupt_id": corrupt.name}
    instance.dispose()


def _publish_run(instance: dg.DagsterInstance):
    (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="publish_job"))
    return run


def test_suites_pass_on_a_real_night_and_data_docs_are_built(night):
    outcome, settings, instance = night["outcome"], night["settings"], night["instance"]
    assert outcome.published, outcome.error
    assert outcome.exit_code == 3  # the corrupted drop was quarantined, the rest published
    run = _publish_run(instance)
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e
                   for e in _check_evaluations(instance, run.run_id)}
    for check in CHECKS:
        evaluation = evaluations[("published_statistics", check.name)]
        assert evaluation.passed, (check.name, evaluation.metadata)
        assert evaluation.severity == (dg.AssetCheckSeverity.ERROR if check.blocking
                                       else dg.AssetCheckSeverity.WARN)
        assert evaluation.blocking == check.blocking
    # dbt tests ran as asset checks of the same run.
    assert any(key[0] == "absence_rates" for key in evaluations)

    index = settings.warehouse / "quality" / "data_docs" / "index.html"
    html = index.read_text("utf-8")
    assert "suppression_applied.absence_rates" in html and "row_counts_stable" in html
    assert "Failed" not in html
    # Relative to the warehouse, not a file:// URL of the Dagster host.
    assert outcome.publish_metadata["data_docs"] == "quality/data_docs/index.html"

    # Last night's row counts: the suppressed tables just published, all levels.
    state = json.loads((settings.warehouse / "quality" / "row_counts.json").read_text())
    marts = read_marts(settings)
    assert state["row_counts"] == {t: marts[t].num_rows for t in PUBLISHED_TABLES}
    assert state["run_id"] == run.run_id
    assert set(state["municipalities"]) == set(MUNICIPALITIES)
    assert outcome.publish_metadata["rows: absence_rates"] > 0
    assert outcome.publish_metadata["rows: local_threshold_crossings"] > 0


def test_freshness_check_warns_and_names_the_quarantined_municipality(night):
    instance = night["instance"]
    run = _publish_run(instance)
    (evaluation,) = [e for e in _check_evaluations(instance, run.run_id)
                     if e.check_name == "extracts_on_time"]
    assert evaluation.asset_key == dg.AssetKey("data_freshness")
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["quarantined"].value == ["091"]
    assert evaluation.metadata["late"].value == [] and evaluation.metadata["missing"].value == []
    assert "checksum" in evaluation.metadata["reasons"].value["091"]
    assert evaluation.metadata["ok"].value == 2
    # ... and the published data_freshness table says the same.
    rows = read_marts(night["settings"])["data_freshness"].to_pylist()
    statuses = {r["municipality_code"]: r["status"] for r in rows}
    assert {m: s for m, s in statuses.items() if s != "not_onboarded"} == {
        "091": "quarantined", "837": "ok", "564": "ok"}
    assert len(statuses) == 308  # every municipality of the reference classification


def test_quarantined_drop_fails_drop_accepted_with_its_reason(night):
    instance = night["instance"]
    runs = instance.get_runs(filters=dg.RunsFilter(job_name="ingest_job"))
    assert len(runs) == len(MUNICIPALITIES) + 1
    results = {}
    for run in runs:
        extract = run.run_config["ops"]["ingest_extract"]["config"]["extract_id"]
        (accepted,) = [e for e in _check_evaluations(instance, run.run_id)
                       if e.check_name == "drop_accepted"]
        results[(run.tags["dagster/partition"], extract)] = accepted
    bad = results.pop(("091", night["corrupt_id"]))
    assert not bad.passed and bad.severity == dg.AssetCheckSeverity.ERROR
    reasons = bad.metadata["reasons"].value
    assert night["corrupt_id"] in reasons and "checksum does not match" in reasons
    assert all(e.passed for e in results.values())


@pytest.fixture(scope="module")
def blocked(night, tmp_path_factory):
    """The publish step re-run on a copy of the night's warehouse, with suppression broken so
    that one published school row rests on 2 pupils but is not suppressed."""
    warehouse = tmp_path_factory.mktemp("blocked") / "warehouse"
    shutil.copytree(night["settings"].warehouse, warehouse,
                    ignore=shutil.ignore_patterns(".dagster", "logs"))
    settings = Settings.from_env(landing=night["settings"].landing, warehouse=warehouse)
    before = _digest(settings.published)
    state_before = (warehouse / "quality" / "row_counts.json").read_bytes()
    real = publisher.apply_suppression

    def broken_suppression(marts, threshold):
        frames = real(marts, threshold)
        rates = frames["absence_rates"]
        row = rates.index[(rates["level"] == "school") & ~rates["suppressed"]][0]
        rates.loc[row, "students"] = 2
        return frames

    from pipelines.definitions import defs

    absence = AbsenceSettings.of(settings)
    with dg.instance_for_test() as instance:
        # The alert sensor's first tick only sets its cursor; the failure comes after it.
        cursor = _tick_alert_sensor(instance, absence, defs, cursor=None).cursor
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(publisher, "apply_suppression", broken_suppression)
            # The job's own resource reads its settings from the environment when the run
            # starts, as under the daemon (a subset job cannot take another resource).
            mp.setenv("ABSENCE_LANDING", str(settings.landing))
            mp.setenv("ABSENCE_WAREHOUSE", str(warehouse))
            result = defs.resolve_job_def("publish_job").execute_in_process(
                instance=instance, raise_on_error=False,
                asset_selection=[dg.AssetKey("published_statistics")])
        yield {"settings": settings, "absence": absence, "result": result, "instance": instance,
               "before": before, "state_before": state_before, "defs": defs,
               "sensor_cursor": cursor}


def _tick_alert_sensor(instance, absence, defs, cursor):
    """One evaluation of the run-failure sensor, as the daemon performs it."""
    from pipelines.defs.monitoring.sensors import alert_on_run_failure

    with dg.build_sensor_context(instance=instance, resources={"absence": absence},
                                 definitions=defs, cursor=cursor) as context:
        return alert_on_run_failure.evaluate_tick(context)


def test_tampered_suppression_fails_the_gate_and_publishes_nothing(blocked):
    result, settings = blocked["result"], blocked["settings"]
    assert not result.success
    evaluations = {e.check_name: e for e in _check_evaluations(blocked["instance"],
                                                                result.run_id)}
    gate = evaluations["suppression_applied"]
    assert not gate.passed and gate.severity == dg.AssetCheckSeverity.ERROR and gate.blocking
    (failure,) = gate.metadata["failures"].value
    assert failure["column"] == "students" and failure["unexpected_count"] == 1
    assert failure["examples"][0]["students"] == 2 and failure["examples"][0]["level"] == "school"
    assert all(evaluations[c.name].passed for c in CHECKS if c.name != "suppression_applied")
    assert not result.get_asset_materialization_events()
    # The Runs list says why: a quality block, not an infrastructure failure.
    assert blocked["instance"].get_run_by_id(result.run_id).tags["absence/failure"] == \
        "quality_gate"
    # Nothing was published: every published file is byte for byte what it was, and the
    # row-count baseline was not advanced.
    assert _digest(settings.published) == blocked["before"]
    assert (settings.warehouse / "quality" / "row_counts.json").read_bytes() == \
        blocked["state_before"]
    # The Data Docs of the blocked run were still built and show the failing suite.
    html = (settings.warehouse / "quality" / "data_docs" / "index.html").read_text("utf-8")
    assert "suppression_applied.absence_rates" in html and "Failed" in html


def test_run_failure_sensor_writes_an_alert_naming_run_step_and_error(blocked):
    result, instance = blocked["result"], blocked["instance"]
    alerts = blocked["settings"].warehouse / "alerts" / "alerts.jsonl"

    def records(kind):
        return [json.loads(line) for line in alerts.read_text().splitlines()
                if json.loads(line)["kind"] == kind]

    # The gate alerted as it blocked; the cursor-setting tick saw no failed run yet.
    (blocked_alert,) = records("publication_blocked")
    assert blocked_alert["failed_checks"] == ["suppression_applied"]
    assert records("run_failed") == []
    _tick_alert_sensor(instance, blocked["absence"], blocked["defs"], blocked["sensor_cursor"])
    (alert,) = records("run_failed")
    assert alert["run_id"] == result.run_id and alert["job"] == "publish_job"
    (step,) = alert["failed_steps"]
    assert step["step"] == "published_statistics"
    assert step["assets"] == ["published_statistics"]
    assert "Quality gate failed (suppression_applied)" in step["error"]
    assert alert["error"] == step["error"]

    # The same record through Dagster's documented test context for run-status sensors.
    from pipelines.defs.monitoring.sensors import alert_on_run_failure

    alert_on_run_failure(dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_instance=instance,
        dagster_run=result.dagster_run, dagster_event=result.get_run_failure_event(),
        resources={"absence": blocked["absence"]}).for_run_failure())
    second = records("run_failed")[-1]
    assert {k: v for k, v in second.items() if k != "alerted_at"} == \
        {k: v for k, v in alert.items() if k != "alerted_at"}


def test_row_count_jump_and_lost_municipality_warn_but_do_not_block(night, tmp_path):
    from quality.runner import validate

    tables = prepare(night["settings"]).tables
    settings = Settings.from_env(landing=night["settings"].landing,
                                 warehouse=tmp_path / "warehouse")
    state = settings.warehouse / "quality" / "row_counts.json"
    state.parent.mkdir(parents=True)
    counts = {name: len(frame) * 3 for name, frame in tables.items()}
    state.write_text(json.dumps({"row_counts": counts,
                                 "municipalities": [*MUNICIPALITIES, "020"]}))
    report = validate(tables, settings)
    assert report.blocking_failures == []
    assert report.warnings == ["expected_municipalities", "row_counts_stable"]
    observed = {f["suite"]: f["observed_value"]
                for f in report.checks["row_counts_stable"].failures}
    assert observed == {f"row_counts_stable.{name}": len(frame)
                        for name, frame in tables.items()}
    (lost,) = report.checks["expected_municipalities"].failures
    assert lost["examples"] == [{"municipality_code": "020", "freshness_status": "not_onboarded",
                                 "has_published_rates": False}]
    assert report.data_docs.exists()


def test_publish_keeps_its_signature_and_writes_without_the_gate(night, tmp_path):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copyfile(night["settings"].warehouse_db, warehouse / "absence.duckdb")
    settings = Settings.from_env(landing=tmp_path / "landing", warehouse=warehouse)
    result = publish(settings)
    assert result.national.exists() and set(result.rows) == set(PUBLISHED_TABLES)
    assert result.preview.startswith("| school year |")


def test_an_infrastructure_failure_is_not_reported_as_failed_data_checks(night, tmp_path):
    """Another process holds absence.duckdb for writing: publishing cannot read the marts.
    The run fails as an infrastructure failure (tag, message); no data check says Failed."""
    import subprocess
    import sys

    warehouse = tmp_path / "warehouse"
    shutil.copytree(night["settings"].warehouse, warehouse,
                    ignore=shutil.ignore_patterns(".dagster", "logs", ".locks"))
    settings = Settings.from_env(landing=night["settings"].landing, warehouse=warehouse)
    before = _digest(settings.published)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(120)", str(settings.warehouse_db)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        from pipelines.definitions import defs

        with dg.instance_for_test() as instance, pytest.MonkeyPatch.context() as mp:
            mp.setenv("ABSENCE_LANDING", str(settings.landing))
            mp.setenv("ABSENCE_WAREHOUSE", str(warehouse))
            result = defs.resolve_job_def("publish_job").execute_in_process(
                instance=instance, raise_on_error=False,
                asset_selection=[dg.AssetKey("published_statistics")])
            tags = instance.get_run_by_id(result.run_id).tags
            evaluations = _check_evaluations(instance, result.run_id)
    finally:
        holder.kill()
        holder.wait()
    assert not result.success
    assert tags["absence/failure"] == "infrastructure"
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "Infrastructure failure" in failure.event_specific_data.error.message
    assert not [e for e in evaluations if not e.passed]
    assert _digest(settings.published) == before


def test_planning_tables_that_do_not_add_up_block_publishing(night, tmp_path):
    """DESIGN §7.2 tables: more pupils overdue than awaiting, a weekday with more absent than
    scheduled lessons, and an effect whose difference is not mean_change minus the
    comparison's each fail planning_counts_add_up, which blocks."""
    from quality.runner import validate

    tables = prepare(night["settings"]).tables
    caseload = tables["support_caseload"].copy()
    row = caseload.index[(~caseload["suppressed"]) & (caseload["awaiting_targeted"] > 0)][0]
    caseload.loc[row, "overdue_targeted"] = caseload.loc[row, "awaiting_targeted"] + 1
    weekday = tables["absence_by_weekday"].copy()
    weekday.loc[weekday.index[~weekday["suppressed"]][0], "absent_lessons"] = 1e9
    effect = tables["intervention_effect"].copy()
    effect.loc[effect["difference"].notna().idxmax(), "difference"] = 0.5
    tampered = {**tables, "support_caseload": caseload, "absence_by_weekday": weekday,
                "intervention_effect": effect}
    settings = Settings.from_env(landing=night["settings"].landing,
                                 warehouse=tmp_path / "warehouse")
    report = validate(tampered, settings)
    assert report.blocking_failures == ["planning_counts_add_up"]
    failed = {(f["suite"], f["column"]) for f in report.checks["planning_counts_add_up"].failures}
    assert failed == {("planning_counts_add_up.support_caseload", "check_overdue_targeted_excess"),
                      ("planning_counts_add_up.absence_by_weekday", "check_absent_lessons_excess"),
                      ("planning_counts_add_up.absence_by_weekday", "check_rate_gap"),
                      ("planning_counts_add_up.intervention_effect", "check_difference_gap")}
