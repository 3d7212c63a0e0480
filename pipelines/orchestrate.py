"""`absence run` and `absence demo`: the nightly job, executed in-process through the same
Dagster definitions (sensor → ingest runs → publish job) that `dagster dev` serves."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines import locks
from pipelines.config import PROJECT_ROOT, Settings
from pipelines.ingest import ledger
from pipelines.ingest.extract import ensure_layout, record_unattributed
from pipelines.ingest.landing import UnattributedDrop
from pipelines.ingest.pseudonym import load_key
from pipelines.permissions import prepare_warehouse, restrict_umask
from pipelines.publish import unchanged

# The terminal shows a one-line outcome per drop; the full event log is in the Dagster
# instance (`make dagster`), so the console logger only reports warnings and errors.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


# In-process runs carry their process id, so a later `absence run` can tell a run that died
# with its process (killed, power cut) from one still going.
OWNER = {"absence/pid": str(os.getpid()), "absence/host": socket.gethostname()}


def reap_dead_runs(instance) -> list[str]:
    """Fail the unfinished in-process runs whose process is gone and free their pool slots.

    Without the daemon nothing else would: a run killed while holding the `warehouse` pool slot
    would block every later build forever (DESIGN §2, limit-1 pools after a cancelled run).
    """
    from dagster import DagsterRunStatus, RunsFilter

    unfinished = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING,
                  DagsterRunStatus.NOT_STARTED, DagsterRunStatus.CANCELING]
    reaped = []
    for run in instance.get_runs(filters=RunsFilter(statuses=unfinished)):
        pid, host = run.tags.get("absence/pid"), run.tags.get("absence/host")
        if not pid or host != socket.gethostname() or _alive(int(pid)):
            continue
        instance.report_run_failed(run, "the process running it ended before the run did")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(run.run_id)
    return reaped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RunOutcome:
    published: bool
    entries: list[dict] = field(default_factory=list)
    error: str | None = None
    publish_metadata: dict = field(default_factory=dict)
    failed_ingests: list[str] = field(default_factory=list)
    log_path: Path | None = None
    # Drops under folders that are no known municipality, seen for the first time this run.
    unattributed: list[UnattributedDrop] = field(default_factory=list)
    # Nothing the publication is made from changed since it was written: no build this run
    # (pipelines/publish/unchanged.py).
    unchanged: bool = False

    @property
    def quarantined(self) -> list[dict]:
        return [e for e in self.entries if e["status"] == "quarantined"]

    @property
    def exit_code(self) -> int:
        """DESIGN §9: 0 published; 3 published but drops quarantined; 1 nothing published."""
        if not self.published:
            return 1
        return 3 if self.quarantined or self.failed_ingests or self.unattributed else 0


def print_outcome(outcome: RunOutcome, settings: Settings) -> None:
    """One line per drop processed (problems to stderr), then whether it published."""
    for entry in outcome.entries:
        line = (f"{entry['status'].upper():<12} {entry['municipality_code']}/{entry['extract_id']}"
                f"  rows loaded {entry['rows_loaded']}, rejected {entry['rows_rejected']}")
        if entry["reason"]:
            line += f"  — {entry['reason']}"
        print(line, file=sys.stderr if entry["status"] == "quarantined" else sys.stdout)
    for drop in outcome.unattributed:
        print(f"{'QUARANTINED':<12} {drop.shown_folder or drop.drop_id}  — {drop.reason}",
              file=sys.stderr)
    for failure in outcome.failed_ingests:
        print(f"FAILED       {failure}", file=sys.stderr)
    if outcome.unchanged:
        print("unchanged: nothing new since the last publication, which stands (no build)")
    if outcome.published:
        print(f"published: {settings.published}")
    else:
        print(f"NOT published: {outcome.error}", file=sys.stderr)
    if outcome.log_path:
        print(f"dbt build log: {outcome.log_path}")


def prepare_instance(settings: Settings):
    """A persistent Dagster instance in settings.dagster_home_dir (default
    <warehouse>/.dagster), so the runs of `absence run` appear in `dagster dev` started with the
    same DAGSTER_HOME."""
    from dagster import DagsterInstance

    home = settings.dagster_home_dir
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(PROJECT_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    return DagsterInstance.from_config(str(home))


def publish_run_config(full_refresh: bool = False) -> dict:
    """publish_job's run config as `absence run` launches it."""
    if not full_refresh:
        return QUIET
    return {**QUIET, "ops": {"absence_dbt_assets": {"config": {"full_refresh": True}}}}


# -- the steps of a night, shared by `absence run` and the benchmark -------------------------

def resources(settings: Settings) -> dict:
    """The resources every run of the night gets: the settings the command line built."""
    from pipelines.defs.resources import AbsenceSettings

    return {"absence": AbsenceSettings.of(settings)}


def evaluate_landing_sensor(settings: Settings, instance) -> list:
    """The landing sensor's evaluation, as the daemon would tick it: adds the partitions of
    new municipalities and returns the run requests (one per pending drop, oldest first)."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.ingest.partitions import municipality_partitions

    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.build_sensor_context(instance=instance, resources=resources(settings)) as context:
        evaluation = sensor(context)
    for request in evaluation.dynamic_partitions_requests:
        instance.add_dynamic_partitions(municipality_partitions.name,
                                        list(request.partition_keys))
    return list(evaluation.run_requests)


def run_ingest(request, settings: Settings, instance):
    """One ingest_job run for one run request, in this process."""
    from pipelines.definitions import defs

    return defs.resolve_job_def("ingest_job").execute_in_process(
        run_config={**request.run_config, **QUIET}, partition_key=request.partition_key,
        tags={**request.tags, **OWNER}, instance=instance, resources=resources(settings),
        raise_on_error=False)


def run_publish(settings: Settings, instance, *, full_refresh: bool = False):
    """publish_job (dbt build, checks, publishing), in this process."""
    from pipelines.definitions import defs

    return defs.resolve_job_def("publish_job").execute_in_process(
        run_config=publish_run_config(full_refresh), tags=OWNER, instance=instance,
        resources=resources(settings), raise_on_error=False)


def run_pipeline(settings: Settings, *, create_key: bool = False, full_refresh: bool = False,
                 lock_wait: float = 0) -> RunOutcome:
    """Process every pending drop, then build, check and publish; never raises for bad drops.

    Refuses to start (MissingKeyError, KeyMismatchError, LockBusy: exit 2) without the
    warehouse's key or while another `absence run` holds `<warehouse>/.locks/run.lock`
    (waiting up to `lock_wait` seconds for it). `full_refresh` rebuilds dbt's incremental
    models from scratch (`dbt build --full-refresh`).
    """
    restrict_umask()
    prepare_warehouse(settings)
    with locks.hold(locks.lock_path(settings.warehouse, "run"), wait=lock_wait):
        return _run_pipeline(settings, create_key=create_key, full_refresh=full_refresh)


def _run_pipeline(settings: Settings, *, create_key: bool, full_refresh: bool) -> RunOutcome:
    # Refuse early, before any run starts.
    load_key(settings.warehouse, settings.pseudonym_key, create=create_key)
    ensure_layout(settings)
    unattributed = record_unattributed(settings)

    from pipelines.dbt_project import prepare_manifest

    prepare_manifest(settings)
    from pipelines.definitions import defs

    instance = prepare_instance(settings)
    reap_dead_runs(instance)
    requests = evaluate_landing_sensor(settings, instance)

    before = {e["load_id"] + str(e["finished_at"]) for e in ledger.read_entries(settings.ledger)}
    failed = []
    for request in requests:
        result = run_ingest(request, settings, instance)
        if not result.success:
            failed.append(f"{request.run_key}: {first_failure(result)}")
            _alert(defs, instance, result, settings)
    entries = [e for e in ledger.read_entries(settings.ledger)
               if e["load_id"] + str(e["finished_at"]) not in before]

    # A night that changed nothing the publication is made from keeps it, without a build.
    current = unchanged.fingerprint(settings)
    if unchanged.unchanged_since_publication(settings, current, full_refresh=full_refresh):
        return RunOutcome(published=True, entries=entries, failed_ingests=failed,
                          unattributed=unattributed, unchanged=True)
    unchanged.forget_publication(settings)

    # dbt's own progress lines go to a log file; the terminal gets the outcome.
    log_path = settings.warehouse / "logs" / f"build-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        publish = run_publish(settings, instance, full_refresh=full_refresh)
    if not publish.success:
        _alert(defs, instance, publish, settings)
        return RunOutcome(published=False, entries=entries, error=first_failure(publish),
                          failed_ingests=failed, log_path=log_path, unattributed=unattributed)
    unchanged.record_publication(settings, current)
    metadata = {}
    for event in publish.get_asset_materialization_events():
        if event.asset_key and event.asset_key.path == ["published_statistics"]:
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    return RunOutcome(published=True, entries=entries, publish_metadata=metadata,
                      failed_ingests=failed, log_path=log_path, unattributed=unattributed)


def _alert(defs, instance, result, settings: Settings) -> None:
    """Evaluate the run-failure sensor for an in-process run, as the daemon would for a
    launched one, so `absence run` failures reach alerts/alerts.jsonl too."""
    import dagster as dg

    failure = next((e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE"),
                   None)
    if failure is None:
        return
    sensor = defs.resolve_sensor_def("alert_on_run_failure")
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name, dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=failure, resources=resources(settings)).for_run_failure()
    sensor(context)


def first_failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            return f"{event.step_key}: {error.message.strip()}"[:2000]
    return "run failed"
