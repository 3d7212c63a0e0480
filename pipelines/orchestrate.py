"""`absence run` and `absence demo`: the nightly job, executed in-process through the same
Dagster definitions (sensor → ingest runs → publish job) that `dagster dev` serves."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines import locks
from pipelines.config import PROJECT_ROOT, Settings, export_env
from pipelines.ingest import ledger
from pipelines.ingest.extract import ensure_layout, record_unattributed
from pipelines.ingest.landing import UnattributedDrop
from pipelines.ingest.pseudonym import load_key
from pipelines.permissions import prepare_warehouse, restrict_umask

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

    @property
    def quarantined(self) -> list[dict]:
        return [e for e in self.entries if e["status"] == "quarantined"]

    @property
    def exit_code(self) -> int:
        """DESIGN §9: 0 published; 3 published but drops quarantined; 1 nothing published."""
        if not self.published:
            return 1
        return 3 if self.quarantined or self.failed_ingests or self.unattributed else 0


def prepare_instance(settings: Settings):
    """A persistent Dagster instance under $DAGSTER_HOME (default <warehouse>/.dagster), so the
    runs of `absence run` appear in `dagster dev` started with the same DAGSTER_HOME."""
    from dagster import DagsterInstance

    home = Path(os.environ.get("DAGSTER_HOME") or settings.warehouse / ".dagster").resolve()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(PROJECT_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return DagsterInstance.get()


def publish_run_config(full_refresh: bool = False) -> dict:
    """publish_job's run config as `absence run` launches it."""
    if not full_refresh:
        return QUIET
    return {**QUIET, "ops": {"absence_dbt_assets": {"config": {"full_refresh": True}}}}


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
    export_env(settings)
    load_key(settings.warehouse, create=create_key)  # refuse early, before any run starts
    ensure_layout(settings)
    unattributed = record_unattributed(settings)

    from pipelines.dbt_project import prepare_manifest

    prepare_manifest()
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.ingest.partitions import municipality_partitions
    from pipelines.defs.resources import AbsencePaths

    instance = prepare_instance(settings)
    reap_dead_runs(instance)
    paths = AbsencePaths(landing=str(settings.landing), warehouse=str(settings.warehouse))
    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.build_sensor_context(instance=instance, resources={"paths": paths}) as context:
        evaluation = sensor(context)
    for request in evaluation.dynamic_partitions_requests:
        instance.add_dynamic_partitions(municipality_partitions.name,
                                        list(request.partition_keys))

    before = {e["load_id"] + str(e["finished_at"]) for e in ledger.read_entries(settings.ledger)}
    ingest_job = defs.resolve_job_def("ingest_job")
    failed = []
    for request in evaluation.run_requests:
        result = ingest_job.execute_in_process(
            run_config={**request.run_config, **QUIET}, partition_key=request.partition_key,
            tags={**request.tags, **OWNER}, instance=instance, resources={"paths": paths},
            raise_on_error=False)
        if not result.success:
            failed.append(f"{request.run_key}: {_first_failure(result)}")
            _alert(defs, instance, result, paths)
    entries = [e for e in ledger.read_entries(settings.ledger)
               if e["load_id"] + str(e["finished_at"]) not in before]

    # dbt's own progress lines go to a log file; the terminal gets the outcome.
    log_path = settings.warehouse / "logs" / f"build-{datetime.now(UTC):%Y%m%dT%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        publish = defs.resolve_job_def("publish_job").execute_in_process(
            run_config=publish_run_config(full_refresh), tags=OWNER, instance=instance,
            resources={"paths": paths}, raise_on_error=False)
    if not publish.success:
        _alert(defs, instance, publish, paths)
        return RunOutcome(published=False, entries=entries, error=_first_failure(publish),
                          failed_ingests=failed, log_path=log_path, unattributed=unattributed)
    metadata = {}
    for event in publish.get_asset_materialization_events():
        if event.asset_key and event.asset_key.path == ["published_statistics"]:
            metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    return RunOutcome(published=True, entries=entries, publish_metadata=metadata,
                      failed_ingests=failed, log_path=log_path, unattributed=unattributed)


def _alert(defs, instance, result, paths) -> None:
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
        dagster_event=failure, resources={"paths": paths}).for_run_failure()
    sensor(context)


def _first_failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            return f"{event.step_key}: {error.message.strip()}"[:2000]
    return "run failed"
