"""Pull: every 10 minutes, copy new complete drops of the configured remote sources
(config/sources.yaml) into the landing zone; the landing sensor takes over unchanged."""

import dagster as dg

from pipelines import alerts
from pipelines.defs.resources import OWNERS, AbsenceSettings, tags
from pipelines.ingest.code_maps import known_municipalities
from pipelines.pull.fetch import pull_source
from pipelines.pull.sources import load_sources

PULLED_KEY = dg.AssetKey("pulled_drops")


@dg.asset(key=PULLED_KEY, group_name="ingest", kinds={"sftp", "https"}, owners=OWNERS,
          tags=tags("ingest"))
def pulled_drops(context: dg.AssetExecutionContext, absence: AbsenceSettings):
    """Drops fetched from municipalities' SFTP servers and HTTPS endpoints into
    `landing/MMM/EXTRACT_ID/` (data files checked against the manifest's SHA-256 while
    streaming, manifest last). One source failing never stops the others; an unreachable
    source is reported here, alerted, and its municipality turns overdue in the freshness
    watch."""
    settings = absence.settings()
    sources = load_sources(settings.sources_file, known_municipalities(settings.seeds))
    results = [pull_source(source, settings) for source in sources.values()]
    for result in results:
        if result.error:
            context.log.warning(f"{result.municipality_code}: {result.error}")
            alerts.send(alerts.record(
                "source_unreachable", f"pulling the drops of {result.municipality_code} failed: "
                f"{result.error}", municipality=result.municipality_code,
                error=result.error), settings)
        for failure in result.failures:
            context.log.warning(f"{result.municipality_code}: {failure}")
    return dg.MaterializeResult(metadata={
        "sources": len(results),
        "fetched": sum(len(r.fetched) for r in results),
        "bytes": sum(r.bytes for r in results),
        "failures": sum(len(r.failures) + bool(r.error) for r in results),
        "by_source": dg.MetadataValue.md(
            "| municipality | listed | complete | fetched | already | bytes | problem |\n"
            "|---|---|---|---|---|---|---|\n" + "\n".join(
                f"| {r.municipality_code} | {r.listed} | {r.complete} | {len(r.fetched)} | "
                f"{r.already} | {r.bytes} | {r.error or '; '.join(r.failures)} |"
                for r in results) if results else "no remote sources configured"),
    })


pull_job = dg.define_asset_job("pull_job", selection=dg.AssetSelection.assets(PULLED_KEY),
                               description="Fetch new drops of the remote sources.")

pull_schedule = dg.ScheduleDefinition(
    name="pull_remote_sources", job=pull_job, cron_schedule="*/10 * * * *",
    execution_timezone="Europe/Helsinki", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 10 minutes: list each remote source of config/sources.yaml and fetch "
                "its new complete drops into the landing zone.")
