"""File modes (DESIGN §4.4): pupil-level files readable by their owner only, whatever the umask.

Every process that writes the warehouse (`absence`, Dagster's webserver, daemon and run workers,
which all load `pipelines.definitions`) runs with umask 077, so what it creates — the DuckDB
warehouse, canonical Parquet, ledger, quarantine, staging, Dagster's storage and logs — is born
0600/0700. The published files are the one exception: the publisher sets them to 0640 (and
their folders to 0750) explicitly, so a region's group can be given read access to its file.
"""

from __future__ import annotations

import os
import stat

from pipelines.config import Settings

OWNER_ONLY = 0o077
PUBLISHED_FILE = stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP  # 0640
PUBLISHED_FOLDER = stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP  # 0750


def restrict_umask() -> None:
    """Make every file this process creates from now on owner-only (umask 077)."""
    os.umask(OWNER_ONLY | os.umask(OWNER_ONLY))


def published_folder(path) -> None:
    """Create a folder of published files (and its missing parents below the warehouse)
    readable by the owner's group: 0750."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        os.chmod(folder, PUBLISHED_FOLDER)


def prepare_warehouse(settings: Settings) -> None:
    """Create the warehouse folder (0750: a reader of the published files must pass through
    it) and tighten what already holds pupil-level data to owner-only."""
    if not settings.warehouse.exists():
        settings.warehouse.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(settings.warehouse, PUBLISHED_FOLDER)
    for folder in (settings.canonical, settings.ledger, settings.quarantine,
                   settings.warehouse / ".staging", settings.warehouse / ".dagster"):
        if folder.is_dir():
            os.chmod(folder, stat.S_IRWXU)
    for path in (settings.warehouse_db, settings.warehouse / "absence.duckdb.wal"):
        if path.is_file():
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
