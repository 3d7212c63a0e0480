"""The one resource every concern shares: the deployment's settings (pipelines/config.py).

Its fields are the fields of `Settings`, as Dagster config. `from_env()` builds it for the
definitions with `dg.EnvVar` for every variable that is set, so Dagster resolves them when a
run starts and never stores their values (the pseudonymisation key among them);
`of(settings)` wraps settings the command line already built. Assets, checks and sensors call
`settings()` once and pass the plain `Settings` down.
"""

import os

import dagster as dg

from pipelines.config import ENVIRONMENT, Settings


class AbsenceSettings(dg.ConfigurableResource):
    """Landing zone, warehouse, thresholds and limits of this deployment (README: Environment)."""

    landing: str = "landing"
    warehouse: str = "warehouse"
    reject_threshold: float = 0.05
    suppression_threshold: int = 5
    row_count_tolerance: float = 0.2
    dbt_project_dir: str = ""
    duckdb_memory_limit: str = "4GB"
    ingest_memory_gib: float = 16.0
    ingest_timeout_seconds: float = 3600.0
    freshness_clock: str = "data"
    dagster_home: str = ""
    pseudonym_key: str = ""

    @classmethod
    def from_env(cls) -> "AbsenceSettings":
        """For the definitions: every set ABSENCE_* variable as a dg.EnvVar."""
        return cls(**{name: dg.EnvVar(var) for name, var in ENVIRONMENT.items()
                      if os.environ.get(var, "").strip()})

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
            dagster_home=str(settings.dagster_home or ""),
            pseudonym_key=settings.pseudonym_key)

    def settings(self) -> Settings:
        values = {name: getattr(self, name) for name in ENVIRONMENT}
        return Settings.from_env(environ={}, **{
            name: value for name, value in values.items() if value not in ("", None)})

