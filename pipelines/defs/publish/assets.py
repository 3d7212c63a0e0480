"""Publish the suppressed statistics: national and per-region DuckDB files plus Parquet."""


import dagster as dg

from pipelines.defs.resources import AbsencePaths
from pipelines.defs.transform.assets import WAREHOUSE_POOL
from pipelines.publish.publisher import publish

MART_KEYS = [dg.AssetKey(name) for name in (
    "absence_rates", "attendance_tiers", "intervention_metrics", "interventions_by_type",
    "data_freshness")]


@dg.asset(deps=MART_KEYS, pool=WAREHOUSE_POOL, group_name="publish", kinds={"duckdb", "parquet"})
def published_statistics(context: dg.AssetExecutionContext,
                         paths: AbsencePaths) -> dg.MaterializeResult:
    """published/national.duckdb, published/regions/<rr>.duckdb and published/parquet/, each
    written to a temporary file and renamed into place."""
    settings = paths.settings()
    result = publish(settings)
    return dg.MaterializeResult(metadata={
        "national": dg.MetadataValue.path(str(result.national)),
        "regions": dg.MetadataValue.json({k: str(v) for k, v in result.regions.items()}),
        "rows": dg.MetadataValue.json(result.rows),
        "suppressed_rows": dg.MetadataValue.json(result.suppressed),
        "national_rates": dg.MetadataValue.md(result.preview),
    })
