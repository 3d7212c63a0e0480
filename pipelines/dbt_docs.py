"""The dbt docs site for engineers, static and offline: `make docs` (or
`python -m pipelines.dbt_docs`) runs `dbt docs generate --static` against the warehouse and
writes the one self-contained page (manifest and catalog inlined, nothing loaded from the
network) to `$ABSENCE_WAREHOUSE/docs/dbt/index.html`. Each dbt asset in Dagster links to its
model's page there (metadata `dbt_docs`, relative to the warehouse)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from pipelines.config import Settings
from pipelines.dbt_project import dbt_environment

DOCS = Path("docs") / "dbt" / "index.html"  # relative to the warehouse


def page_of(unique_id: str) -> str:
    """The docs page of a dbt node, relative to the warehouse."""
    kind = unique_id.split(".", 1)[0]
    return f"{DOCS.as_posix()}#!/{kind}/{unique_id}"


def build_docs(settings: Settings) -> Path:
    """Generate the static docs page and rename it into place; returns its path."""
    from dbt.cli.main import dbtRunner

    if not settings.warehouse_db.exists():
        raise FileNotFoundError(f"{settings.warehouse_db} does not exist: run `make demo` or "
                                "`absence run` first (the docs describe the built warehouse)")
    target = settings.warehouse / DOCS
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work, dbt_environment(settings):
        result = dbtRunner().invoke([
            "docs", "generate", "--static", "--quiet",
            "--project-dir", str(settings.dbt_project_dir),
            "--profiles-dir", str(settings.dbt_project_dir),
            "--target-path", work])
        if not result.success:
            raise RuntimeError(f"dbt docs generate failed: {result.exception}")
        page = Path(work) / "static_index.html"
        os.chmod(page, 0o640)
        shutil.move(page, target.with_suffix(".tmp"))
        os.replace(target.with_suffix(".tmp"), target)
    return target


def main() -> None:
    from pipelines.permissions import restrict_umask

    restrict_umask()
    path = build_docs(Settings.from_env())
    print(f"dbt docs: {path}")


if __name__ == "__main__":
    sys.exit(main())
