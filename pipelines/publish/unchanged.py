"""What a publication was made from, so that a night with nothing new does no work (#19).

`absence run` builds, checks and publishes every night. A night that brings no drop — or only
drops already seen — would rebuild every model and write the same files again (about a minute
for a few municipalities, minutes for the country). Every published figure is a function of
what this fingerprint covers, so when it equals the one recorded at the last publication, and
that publication is in place, the run keeps it and says so:

- the warehouse's inputs to dbt: every file under `ledger/`, `canonical/`, `quarantine/` and
  `pull/` (path, size, modification time: they are written once and renamed into place, so a
  load, a quarantine, a superseded extract or a new remote-source status changes the list);
- the dbt project (models, macros, seeds — code maps, reference data, expected
  municipalities), this package's own files (pipelines, quality, schemas) and the versions of
  the engines that compute (dbt, its adapters, DuckDB, Arrow, Great Expectations, Dagster);
- the settings that shape the output (thresholds, tolerance, engine, dbt vars — which carry
  the local ladders' rows — and the remote-sources file), not paths or secrets.

It also records what the publication wrote (every file under `published/`: path, size,
modification time), so a deleted or replaced file is written again.

Never skipped: `--full-refresh`, and `freshness_clock = wall` (`late` then follows the clock,
not the data). The fingerprint is a SHA-256 hex digest in `<warehouse>/state/` (owner-only);
it holds no value from the data.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from pipelines.config import Settings

INPUT_FOLDERS = ("ledger", "canonical", "quarantine", "pull")
PACKAGES = ("pipelines", "quality", "schemas")
VERSIONS = ("dbt-core", "dbt-duckdb", "dbt-spark", "duckdb", "pyarrow", "great-expectations",
            "dagster", "dagster-dbt")
SKIP_FOLDERS = {"target", "logs", "dbt_packages", "__pycache__"}


def fingerprint_path(settings: Settings) -> Path:
    return settings.warehouse / "state" / "publication.fingerprint"


def fingerprint(settings: Settings) -> str:
    """The digest of everything a publication of `settings` is made from (module docstring).

    Anything it cannot read (a local-ladder file with a bad row, an unreadable sources file)
    gives a digest that matches nothing: the run builds, and the build reports the fault."""
    try:
        return _fingerprint(settings)
    except (OSError, ValueError):
        return "unreadable-" + os.urandom(16).hex()


def _fingerprint(settings: Settings) -> str:
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        digest.update(json.dumps(parts, default=str).encode("utf-8"))
        digest.update(b"\n")

    for name in INPUT_FOLDERS:
        add("input", name, _listing(settings.warehouse / name))
    import pipelines

    code_roots = [Path(settings.dbt_project_dir)]
    code_roots += [Path(pipelines.__file__).parents[1] / package for package in PACKAGES]
    for root in code_roots:
        for path in _files(root):
            add("code", root.name, path.relative_to(root).as_posix(), _sha256(path))
    for package in VERSIONS:
        try:
            add("version", package, metadata.version(package))
        except metadata.PackageNotFoundError:
            add("version", package, None)
    add("settings", settings.reject_threshold, settings.suppression_threshold,
        settings.row_count_tolerance, settings.engine, settings.freshness_clock,
        settings.dbt_vars())
    add("sources", _sha256(settings.sources_file) if settings.sources_file.is_file() else None)
    return digest.hexdigest()


def unchanged_since_publication(settings: Settings, current: str, *,
                                full_refresh: bool) -> bool:
    """True when the last publication was made from exactly `current` and its files are still
    as it wrote them (none deleted, replaced or added since)."""
    if full_refresh or settings.freshness_clock == "wall":
        return False
    path = fingerprint_path(settings)
    if not path.is_file() or not (settings.published / "national.duckdb").is_file():
        return False
    return path.read_text("utf-8").split() == [current, _published_digest(settings)]


def record_publication(settings: Settings, current: str) -> None:
    """After a publication: remember what it was made from and what it wrote (written aside,
    then renamed)."""
    path = fingerprint_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(f"{current}\n{_published_digest(settings)}\n", "utf-8")
    os.replace(tmp, path)


def _published_digest(settings: Settings) -> str:
    return hashlib.sha256(json.dumps(_listing(settings.published)).encode("utf-8")).hexdigest()


def forget_publication(settings: Settings) -> None:
    """Before a build: a run that dies half-way must not leave the old fingerprint standing
    beside a publication it may have begun to replace."""
    fingerprint_path(settings).unlink(missing_ok=True)


def _listing(root: Path) -> list[tuple[str, int, int]]:
    """Every file under `root`: path relative to it, size, modification time."""
    return [(path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns)
            for path in _files(root) for stat in [path.stat()]]


def _files(root: Path) -> list[Path]:
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders
                               if d not in SKIP_FOLDERS and not d.startswith("."))
        found += [Path(folder) / name for name in sorted(files) if not name.startswith(".")]
    return found


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
