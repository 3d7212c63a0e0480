"""The single entry point: `dagster dev` in the repository root loads `defs` from here."""

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.dbt_project import dbt_project
from pipelines.defs.ingest.assets import ingest_extract
from pipelines.defs.ingest.sensors import ingest_job, landing_sensor
from pipelines.defs.monitoring.checks import (
    drops_arrived,
    extracts_on_time,
    freshness_job,
    freshness_watch,
)
from pipelines.defs.monitoring.sensors import alert_on_run_failure
from pipelines.defs.publish.assets import published_reports, published_statistics
from pipelines.defs.publish.schedules import nightly_publish, publish_job
from pipelines.defs.pull.assets import pull_job, pull_schedule, pulled_drops
from pipelines.defs.resources import AbsenceSettings
from pipelines.defs.transform.assets import absence_dbt_assets
from pipelines.permissions import restrict_umask

# Policy for every process that loads these definitions (webserver, daemon, run workers):
# what they write under the warehouse and DAGSTER_HOME is owner-only (DESIGN §4.4).
restrict_umask()

defs = dg.Definitions(
    assets=[pulled_drops, ingest_extract, absence_dbt_assets, published_statistics,
            published_reports],
    asset_checks=[extracts_on_time, drops_arrived],
    jobs=[ingest_job, publish_job, freshness_job, pull_job],
    sensors=[landing_sensor, alert_on_run_failure],
    schedules=[nightly_publish, freshness_watch, pull_schedule],
    resources={
        "absence": AbsenceSettings.from_env(),
        "dbt": DbtCliResource(project_dir=dbt_project),
    },
)
