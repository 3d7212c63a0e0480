"""The landing sensor: every complete, not yet seen drop becomes one ingest run."""


import dagster as dg

from pipelines.defs.ingest.assets import ingest_extract
from pipelines.defs.ingest.partitions import municipality_partitions
from pipelines.defs.resources import AbsenceSettings
from pipelines.ingest.code_maps import known_municipalities
from pipelines.ingest.extract import record_unattributed
from pipelines.ingest.landing import pending_drops

ingest_job = dg.define_asset_job(
    "ingest_job", selection=dg.AssetSelection.assets(ingest_extract),
    partitions_def=municipality_partitions,
    description="Load one municipality drop into canonical Parquet (one run per drop).",
)


@dg.sensor(job=ingest_job, minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Every 30 s: each complete drop (manifest.json present) under "
                       "landing/MMM/EXTRACT_ID that has no ledger row yet becomes one ingest "
                       "run of its municipality's partition, oldest extract first; a drop "
                       "under a folder that is no known municipality is quarantined aside "
                       "and alerted.")
def landing_sensor(context: dg.SensorEvaluationContext,
                   absence: AbsenceSettings) -> dg.SensorResult:
    """A drop is complete when its manifest.json exists; run_key makes each drop run once."""
    settings = absence.settings()
    for drop in record_unattributed(settings):
        context.log.warning(f"Quarantined a drop under a folder that is no known municipality "
                            f"({drop.shown_folder or drop.drop_id}): {drop.reason}")
    drops = pending_drops(settings.landing, settings.ledger,
                          known_municipalities(settings.seeds))
    known = set(context.instance.get_dynamic_partitions(municipality_partitions.name))
    new = sorted({d.municipality_code for d in drops} - known)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"{d.municipality_code}/{d.load_id()}",
                partition_key=d.municipality_code,
                run_config={"ops": {"ingest_extract": {"config": {"extract_id": d.extract_id}}}},
                tags={"absence/municipality": d.municipality_code,
                      "absence/extract_id": d.extract_id},
            )
            for d in drops
        ],
        dynamic_partitions_requests=[municipality_partitions.build_add_request(new)] if new else [],
    )
