"""Resources shared by every concern: where the landing zone and the warehouse are."""


from pathlib import Path

import dagster as dg

from pipelines.config import Settings, export_env, settings_from_env


class AbsencePaths(dg.ConfigurableResource):
    """Landing and warehouse folders; empty means $ABSENCE_LANDING / $ABSENCE_WAREHOUSE."""

    landing: str = ""
    warehouse: str = ""

    def settings(self) -> Settings:
        base = settings_from_env()
        settings = Settings(
            landing=Path(self.landing).resolve() if self.landing else base.landing,
            warehouse=Path(self.warehouse).resolve() if self.warehouse else base.warehouse,
            reject_threshold=base.reject_threshold,
            suppression_threshold=base.suppression_threshold,
        )
        export_env(settings)  # dbt, run as a child process, reads ABSENCE_WAREHOUSE
        return settings
