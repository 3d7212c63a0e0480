"""`absence query`: SQL on one published file, and nothing else (DESIGN §9).

Read-only is enforced by DuckDB's own configuration, set when the connection opens and then
locked: the file is opened read-only, external access is off (no ATTACH of another file, no
COPY/EXPORT to a file, no read_csv/read_text/glob of the key or the warehouse, no extension
download), extensions are never auto-installed or auto-loaded, and `lock_configuration` keeps
a statement from switching any of it back on.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

REGION_CODE = re.compile(r"\d{2}")
READ_ONLY_CONFIG = {
    "access_mode": "READ_ONLY",
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "memory_limit": "2GB",
    "lock_configuration": True,
}


class QueryRefused(ValueError):
    """The request names no published file that may be queried."""


def published_file(published: Path, region: str | None) -> Path:
    """national.duckdb, or regions/<rr>.duckdb for an existing 2-digit region code."""
    if region is None:
        path = published / "national.duckdb"
    else:
        if not REGION_CODE.fullmatch(region):
            raise QueryRefused("--region takes a 2-digit region code (maakunta), e.g. 01")
        path = published / "regions" / f"{region}.duckdb"
    if not path.is_file():
        if region is None:
            raise QueryRefused(f"{path} does not exist (run `absence run` first)")
        raise QueryRefused(f"no published file for region {region} in {path.parent}")
    return path


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to one published file that can read it and nothing else."""
    return duckdb.connect(str(path), read_only=True, config=dict(READ_ONLY_CONFIG))
