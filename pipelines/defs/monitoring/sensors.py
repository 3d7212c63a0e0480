"""Alerting: every failed run becomes one alert (pipelines/alerts.py): a JSON line in
$ABSENCE_WAREHOUSE/alerts/alerts.jsonl and, when ABSENCE_ALERT_WEBHOOK is set, a POST to it.

The record names the run, its job, the failed steps with the assets they materialise, and the
error message, so a watcher (or `tail -f`) needs no Dagster access to see what broke.
"""

from __future__ import annotations

import dagster as dg

from pipelines import alerts
from pipelines.defs.resources import AbsenceSettings

MAX_MESSAGE = 4000
MAX_ASSETS = 20


def _step_assets(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, list[str]]:
    """Step key → the asset keys its outputs materialise, from the run's execution plan."""
    try:
        plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    except Exception:  # an old or missing snapshot must not stop the alert
        return {}
    assets: dict[str, list[str]] = {}
    for step in plan.steps:
        keys = [o.properties.asset_key.to_user_string() for o in step.outputs
                if o.properties is not None and o.properties.asset_key is not None]
        assets[step.key] = keys
    return assets


def alert_record(context: dg.RunFailureSensorContext) -> dict:
    run = context.dagster_run
    step_assets = _step_assets(context.instance, run)
    steps = []
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        assets = step_assets.get(event.step_key, [])
        steps.append({
            "step": event.step_key,
            "assets": assets[:MAX_ASSETS] + (["…"] if len(assets) > MAX_ASSETS else []),
            "error": (error.message.strip() if error else event.message or "")[:MAX_MESSAGE],
        })
    message = steps[0]["error"] if steps else (context.failure_event.message or "run failed")
    partition = run.tags.get("dagster/partition")
    return alerts.record(
        "run_failed",
        f"run {run.run_id[:8]} of {run.job_name}"
        + (f" ({partition})" if partition else "") + f" failed: {message}",
        run_id=run.run_id, job=run.job_name, partition=partition, failed_steps=steps,
        error=message[:MAX_MESSAGE],
        tags={k: v for k, v in run.tags.items() if k.startswith("absence/")})


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    # Runs that `absence run` executes in-process carry no code-location origin; without this
    # the daemon would skip them. The project has a single code location.
    monitor_all_code_locations=True,
    description="For every failed run, an alert (run id, job, failed steps and assets, "
                "error): a line in $ABSENCE_WAREHOUSE/alerts/alerts.jsonl and a POST to "
                "ABSENCE_ALERT_WEBHOOK when set.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, absence: AbsenceSettings) -> None:
    record = alert_record(context)
    settings = absence.settings()
    delivered = alerts.send(record, settings)
    context.log.info(f"Alert for run {record['run_id']} ({record['job']}) written to "
                     f"{alerts.alerts_path(settings)}"
                     + ("" if delivered else "; the webhook did not take it"))
