"""The dbt project handle, importable without building any Dagster asset (so the manifest can
be prepared before the definitions that read it are imported)."""

import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.config import DBT_PROJECT_DIR

# dbt is installed beside this interpreter; find it even when the venv is not activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_manifest() -> None:
    """Parse the dbt project so the manifest matches the SQL on disk (never at import time).

    A stale manifest makes Dagster meet dbt nodes it does not know, so the command line
    prepares it before importing the definitions; partial parsing keeps this to seconds.
    """
    dbt_project.preparer.prepare(dbt_project)
