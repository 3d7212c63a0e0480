"""Where things live and the settings a deployment may change, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# A deployment may keep its own copy of the dbt project (e.g. with its municipalities' code-map
# rows); ingest reads the code maps from the same place dbt does.
DBT_PROJECT_DIR = Path(os.environ.get("ABSENCE_DBT_PROJECT_DIR") or PROJECT_ROOT / "dbt_project")
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"

CANONICAL_TABLES = ("students", "attendance", "absences", "interventions")
PUBLISHED_TABLES = (
    "absence_rates",
    "attendance_tiers",
    "intervention_metrics",
    "interventions_by_type",
    "data_freshness",
)


@dataclass(frozen=True)
class Settings:
    """Paths and thresholds of one deployment; every path is absolute."""

    landing: Path
    warehouse: Path
    reject_threshold: float = 0.05
    suppression_threshold: int = 5

    def __post_init__(self) -> None:
        # dbt reads the warehouse through SQL string literals (sources' external_location):
        # a path that could end such a literal is refused rather than escaped.
        for name in ("landing", "warehouse"):
            if any(c in str(getattr(self, name)) for c in "'\"\\\n\r\x00"):
                raise ValueError(f"the {name} path may not contain quotes, backslashes or "
                                 "line breaks")

    @property
    def canonical(self) -> Path:
        return self.warehouse / "canonical"

    @property
    def ledger(self) -> Path:
        return self.warehouse / "ledger"

    @property
    def quarantine(self) -> Path:
        return self.warehouse / "quarantine"

    @property
    def published(self) -> Path:
        return self.warehouse / "published"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse / "absence.duckdb"


def settings_from_env() -> Settings:
    """Build settings from ABSENCE_* variables, defaulting to ./landing and ./warehouse."""
    landing = Path(os.environ.get("ABSENCE_LANDING", "landing")).resolve()
    warehouse = Path(os.environ.get("ABSENCE_WAREHOUSE", "warehouse")).resolve()
    return Settings(
        landing=landing,
        warehouse=warehouse,
        reject_threshold=float(os.environ.get("ABSENCE_REJECT_THRESHOLD", "0.05")),
        suppression_threshold=max(3, int(os.environ.get("ABSENCE_SUPPRESSION_THRESHOLD", "5"))),
    )


def export_env(settings: Settings) -> None:
    """Make the resolved paths visible to child processes (dbt reads ABSENCE_WAREHOUSE)."""
    os.environ["ABSENCE_LANDING"] = str(settings.landing)
    os.environ["ABSENCE_WAREHOUSE"] = str(settings.warehouse)


# dbt reads ABSENCE_WAREHOUSE from the environment; give processes that only load the
# definitions (`dagster dev`, manifest preparation) the same default the command line uses.
os.environ.setdefault("ABSENCE_WAREHOUSE", str(Path("warehouse").resolve()))
