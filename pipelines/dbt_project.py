"""The dbt project handle, importable without building any Dagster asset (so the manifest can
be prepared before the definitions that read it are imported)."""

import contextlib
import json
import os
import subprocess
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


def run_unit_tests(settings: Settings, target_path: Path,
                   environ: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`dbt test --select test_type:unit` against a built warehouse of settings.engine.

    The nightly build leaves dbt's unit tests out (their inputs are fixed rows, not the
    night's data; dbt recommends running them in development and CI): `make test` runs them
    through this on both engines (tests/test_end_to_end.py, tests/test_engines.py). dbt runs
    in a process of its own, with `environ` (default: this process's) and the settings'
    variables.
    """
    env = {**(os.environ if environ is None else environ), **settings.dbt_environment()}
    return subprocess.run([
        str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit",
        "--target", settings.engine, "--project-dir", str(settings.dbt_project_dir),
        "--profiles-dir", str(settings.dbt_project_dir), "--target-path", str(target_path),
        "--vars", json.dumps(settings.dbt_vars())], env=env, capture_output=True, text=True,
        umask=0o077)  # what it writes in the warehouse is the owner's only, as in a build
