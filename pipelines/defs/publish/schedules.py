"""The nightly build: dbt + publish at 05:00 Helsinki time, after the evening's drops."""

import dagster as dg

from pipelines.defs.monitoring.checks import drops_arrived
from pipelines.defs.publish.assets import published_reports, published_statistics
from pipelines.defs.transform.assets import absence_dbt_assets

publish_job = dg.define_asset_job(
    "publish_job",
    # The freshness watch has its own schedule (freshness_watch): not part of the build.
    selection=dg.AssetSelection.assets(absence_dbt_assets, published_statistics,
                                       published_reports) - dg.AssetSelection.checks(
                                           drops_arrived),
    description="dbt build (seeds, models, tests), publish the suppressed statistics, then "
                "the officials' exports and reports.",
)

# A schedule, not eager automation: the dbt assets sit downstream of partially filled
# municipality partitions, where eager() can wait forever (DESIGN §2).
nightly_publish = dg.ScheduleDefinition(
    name="nightly_publish",
    job=publish_job,
    cron_schedule="0 5 * * *",
    execution_timezone="Europe/Helsinki",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
