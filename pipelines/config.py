"""The settings of one deployment: one object, built once at the edge, passed down.

`Settings.from_env()` is the only place that reads `ABSENCE_*` (and `DAGSTER_HOME`) from the
environment; the command line builds settings from it plus its flags, and the Dagster
definitions wrap the same fields in the `AbsenceSettings` resource (pipelines/defs/resources.py).
Everything below receives a `Settings` and never looks at the environment. The dbt child
process is the one consumer that needs environment variables and vars: `dbt_environment()`
and `dbt_vars()` say, in one place, what it gets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from pipelines.ingest.limits import GIB, IngestLimits

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# Settings field -> the environment variable a deployment sets it with.
ENVIRONMENT = {
    "landing": "ABSENCE_LANDING",
    "warehouse": "ABSENCE_WAREHOUSE",
    "reject_threshold": "ABSENCE_REJECT_THRESHOLD",
    "suppression_threshold": "ABSENCE_SUPPRESSION_THRESHOLD",
    "row_count_tolerance": "ABSENCE_ROW_COUNT_TOLERANCE",
    "dbt_project_dir": "ABSENCE_DBT_PROJECT_DIR",
    "duckdb_memory_limit": "ABSENCE_DUCKDB_MEMORY_LIMIT",
    "ingest_memory_gib": "ABSENCE_INGEST_MEMORY_LIMIT",
    "ingest_timeout_seconds": "ABSENCE_INGEST_TIMEOUT",
    "freshness_clock": "ABSENCE_FRESHNESS_CLOCK",
    "local_thresholds": "ABSENCE_LOCAL_THRESHOLDS",
    "dagster_home": "DAGSTER_HOME",
    "pseudonym_key": "ABSENCE_PSEUDONYM_KEY",
    "alert_webhook": "ABSENCE_ALERT_WEBHOOK",
    "sources_file": "ABSENCE_SOURCES",
    "engine": "ABSENCE_ENGINE",
}
ENGINES = ("duckdb", "spark")
MIN_SUPPRESSION_THRESHOLD = 3


@dataclass(frozen=True)
class Settings:
    """Paths and thresholds of one deployment; every path is absolute."""

    landing: Path
    warehouse: Path
    reject_threshold: float = 0.05  # share of rejected rows above which a drop is quarantined
    suppression_threshold: int = 5  # published rows resting on fewer pupils are suppressed
    row_count_tolerance: float = 0.2  # the row_counts_stable check's band around last night
    dbt_project_dir: Path = DEFAULT_DBT_PROJECT_DIR
    duckdb_memory_limit: str = "4GB"  # DuckDB's memory in the dbt build; beyond it, spill
    ingest_memory_gib: float = 16.0  # address space of the child process reading one drop
    ingest_timeout_seconds: float = 3600.0  # wall time of one drop
    freshness_clock: str = "data"  # `late` against the data's clock, or `wall`
    # A CSV of local absence ladders (municipality_code,threshold_lessons,label) that adds to
    # the dbt seed local_thresholds, replacing the seed's rows of each municipality it names.
    local_thresholds: Path | None = None
    dagster_home: Path | None = None  # default <warehouse>/.dagster
    # A secret: never shown (repr), never compared, only handed to the pseudonymiser.
    pseudonym_key: str = field(default="", repr=False, compare=False)
    # Where alerts are POSTed (Slack/Teams-compatible JSON); its URL may hold a token.
    alert_webhook: str = field(default="", repr=False)
    # Remote sources of municipalities that do not push (pipelines/pull/sources.py).
    sources_file: Path = PROJECT_ROOT / "config" / "sources.yaml"
    # The engine dbt builds with (DESIGN §8.2): `duckdb` (embedded, the default) or `spark`
    # (dbt-spark, the `spark` extra); the dbt target of the same name.
    engine: str = "duckdb"

    def __post_init__(self) -> None:
        # dbt reads the warehouse through SQL string literals (sources' external_location):
        # a path that could end such a literal is refused rather than escaped.
        for name in ("landing", "warehouse"):
            if any(c in str(getattr(self, name)) for c in "'\"\\\n\r\x00"):
                raise ValueError(f"the {name} path may not contain quotes, backslashes or "
                                 "line breaks")
        if self.alert_webhook and not self.alert_webhook.startswith(("https://", "http://")):
            raise ValueError("the alert webhook is an http:// or https:// URL")
        if self.engine not in ENGINES:
            raise ValueError(f"the engine is one of {', '.join(ENGINES)}")
        if self.freshness_clock not in ("data", "wall"):
            raise ValueError("the freshness clock is `data` or `wall`")
        if self.suppression_threshold < MIN_SUPPRESSION_THRESHOLD:
            object.__setattr__(self, "suppression_threshold", MIN_SUPPRESSION_THRESHOLD)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Settings from ABSENCE_* variables (defaults ./landing and ./warehouse), with
        `overrides` (e.g. a command line's flags) taking precedence."""
        environ = os.environ if environ is None else environ
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, object] = {"landing": "landing", "warehouse": "warehouse"}
        values.update({name: environ[var] for name, var in ENVIRONMENT.items()
                       if environ.get(var, "").strip()})
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{name: _typed(types[name], value) for name, value in values.items()})

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

    @property
    def spark_marts(self) -> Path:
        """Where dbt on Spark writes the marts, one Parquet folder per table."""
        return self.warehouse / "spark" / "marts"

    @property
    def dbt_target(self) -> Path:
        """This warehouse's dbt target folder (compiled SQL, run results, dbt.log and the
        partial-parse state): the project's parse depends on the warehouse path, so a folder
        per warehouse lets every build after the first one parse only what changed."""
        return self.warehouse / "dbt" / "target"

    @property
    def seeds(self) -> Path:
        return self.dbt_project_dir / "seeds"

    @property
    def dagster_home_dir(self) -> Path:
        return self.dagster_home or self.warehouse / ".dagster"

    @property
    def limits(self) -> IngestLimits:
        return IngestLimits(memory_bytes=int(self.ingest_memory_gib * GIB),
                            seconds=self.ingest_timeout_seconds)

    def dbt_environment(self) -> dict[str, str]:
        """What the dbt child process reads with env_var() (profiles.yml, sources)."""
        return {"ABSENCE_WAREHOUSE": str(self.warehouse),
                "ABSENCE_DUCKDB_MEMORY_LIMIT": self.duckdb_memory_limit,
                "ABSENCE_ENGINE": self.engine}

    def dbt_vars(self) -> dict[str, object]:
        """dbt vars (dbt_project.yml) that follow a setting."""
        variables: dict[str, object] = {"freshness_clock": self.freshness_clock}
        if self.local_thresholds is not None:
            variables["local_thresholds"] = read_local_thresholds(self.local_thresholds)
        return variables


LOCAL_THRESHOLD_COLUMNS = ("municipality_code", "threshold_lessons", "label")


def read_local_thresholds(path: Path) -> list[dict[str, object]]:
    """The rows of a local-ladder file (the columns of the dbt seed local_thresholds), checked:
    a 3-digit municipality code, a positive number of lessons, a label of at most 80
    characters. dbt receives them as the var `local_thresholds` (int_local_thresholds)."""
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != LOCAL_THRESHOLD_COLUMNS:
            raise ValueError(f"{path.name}: the header must be "
                             f"{','.join(LOCAL_THRESHOLD_COLUMNS)}")
        rows = []
        for number, row in enumerate(reader, start=1):
            code, label = (row["municipality_code"] or "").strip(), (row["label"] or "").strip()
            try:
                lessons = float((row["threshold_lessons"] or "").strip())
            except ValueError:
                lessons = float("nan")
            if not (len(code) == 3 and code.isdigit()):
                raise ValueError(f"{path.name}, row {number}, column municipality_code: "
                                 "not a 3-digit municipality code")
            if not lessons > 0 or lessons == float("inf"):
                raise ValueError(f"{path.name}, row {number}, column threshold_lessons: "
                                 "not a positive number of lessons")
            if not label or len(label) > 80:
                raise ValueError(f"{path.name}, row {number}, column label: "
                                 "empty or longer than 80 characters")
            rows.append({"municipality_code": code, "threshold_lessons": lessons,
                         "label": label})
    return rows


def read_secret(name: str | None) -> str | None:
    """The value of an environment variable that a configuration file names for a secret
    (config/sources.yaml: key_file_env, password_env, token_env), read when it is needed."""
    return os.environ.get(name) or None if name else None


def _typed(kind: str, value: object) -> object:
    """Environment and config values arrive as text: give each field its type."""
    if value is None:
        return value
    if "Path" in kind:
        return Path(value).expanduser().resolve()
    if not isinstance(value, str):
        return value
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    return value
