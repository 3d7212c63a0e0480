"""The dbt project handle, importable without building any Dagster asset (so the manifest can
be prepared before the definitions that read it are imported)."""

import contextlib
import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.config import Settings

# dbt is installed beside this interpreter; find it even when the venv is not activated.
_BIN = str(Path(sys.executable).parent)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

# The @dbt_assets definition needs the project before any resource exists: the definitions'
# edge reads where it is (ABSENCE_DBT_PROJECT_DIR, a deployment's own copy) here, once.
_PROJECT_DIR = Settings.from_env().dbt_project_dir
dbt_project = DbtProject(project_dir=_PROJECT_DIR, profiles_dir=_PROJECT_DIR)


@contextlib.contextmanager
def dbt_environment(settings: Settings):
    """The dbt child process inherits this process's environment (dagster-dbt copies it): the
    settings dbt reads with env_var() (settings.dbt_environment()) are exported while dbt runs,
    and put back after. The one place settings reach dbt."""
    variables = settings.dbt_environment()
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def prepare_manifest(settings: Settings) -> None:
    """Parse the dbt project so the manifest matches the SQL on disk (never at import time).

    A stale manifest makes Dagster meet dbt nodes it does not know, so the command line
    prepares it before importing the definitions — unless it is newer than every file of the
    project: a parse costs 4-12 s (the warehouse path is part of the sources, so a new
    warehouse invalidates dbt's partial parsing), and the build parses again anyway.
    """
    manifest = Path(dbt_project.manifest_path)
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return
    with dbt_environment(settings):
        dbt_project.preparer.prepare(dbt_project)


def _newest_source_mtime() -> float:
    project = Path(dbt_project.project_dir)
    skip = {"target", "dbt_packages", "logs"}
    newest = 0.0
    for folder, subfolders, files in os.walk(project):
        subfolders[:] = [d for d in subfolders if d not in skip]
        for name in files:
            newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime)
    return newest
