"""The one resource every concern shares: the deployment's settings (pipelines/config.py).

Its fields are the fields of `Settings`, as Dagster config, every one optional. A field left
unset is read from its ABSENCE_* variable when a run (or sensor tick) calls `settings()`, by
the one environment reader, `Settings.from_env`: the definitions fix nothing at import time,
so a process that imported them before its environment was complete still runs with the
right paths, and the pseudonymisation key is never stored in run config. `of(settings)` wraps
settings the command line already built. Assets, checks and sensors call `settings()` once
and pass the plain `Settings` down.
"""

import dagster as dg

from pipelines.config import ENVIRONMENT, Settings

OWNERS = ["team:absence-data"]  # who the Dagster UI shows as responsible for every asset


def tags(layer: str) -> dict[str, str]:
    """The tags every asset carries: its product and its layer (filterable in the UI)."""
    return {"product": "absence-statistics", "layer": layer}


class AbsenceSettings(dg.ConfigurableResource):
    """Landing zone, warehouse, thresholds and limits of this deployment (README: Environment).
    Unset fields come from the environment when a run starts."""

    landing: str | None = None
    warehouse: str | None = None
    reject_threshold: float | None = None
    suppression_threshold: int | None = None
    row_count_tolerance: float | None = None
    dbt_project_dir: str | None = None
    duckdb_memory_limit: str | None = None
    ingest_memory_gib: float | None = None
    ingest_timeout_seconds: float | None = None
    freshness_clock: str | None = None
    local_thresholds: str | None = None
    dagster_home: str | None = None
    pseudonym_key: str | None = None
    alert_webhook: str | None = None
    sources_file: str | None = None
    engine: str | None = None

    @classmethod
    def from_env(cls) -> "AbsenceSettings":
        """For the definitions: nothing fixed; every field is read when a run starts."""
        return cls()

    @classmethod
    def of(cls, settings: Settings) -> "AbsenceSettings":
        """For the command line, which has built its settings already."""
        return cls(
            landing=str(settings.landing), warehouse=str(settings.warehouse),
            reject_threshold=settings.reject_threshold,
            suppression_threshold=settings.suppression_threshold,
            row_count_tolerance=settings.row_count_tolerance,
            dbt_project_dir=str(settings.dbt_project_dir),
            duckdb_memory_limit=settings.duckdb_memory_limit,
            ingest_memory_gib=settings.ingest_memory_gib,
            ingest_timeout_seconds=settings.ingest_timeout_seconds,
            freshness_clock=settings.freshness_clock,
            local_thresholds=str(settings.local_thresholds) if settings.local_thresholds
            else None,
            dagster_home=str(settings.dagster_home) if settings.dagster_home else None,
            pseudonym_key=settings.pseudonym_key or None,
            alert_webhook=settings.alert_webhook or None,
            sources_file=str(settings.sources_file), engine=settings.engine)

    def settings(self) -> Settings:
        values = {name: getattr(self, name) for name in ENVIRONMENT}
        return Settings.from_env(**{
            name: value for name, value in values.items() if value not in ("", None)})
