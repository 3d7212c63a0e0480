"""Copy each new complete remote drop into `landing/<mmm>/<extract_id>/`, manifest last.

A drop is complete on the remote side when its manifest.json exists. Each data file the
manifest names is streamed into `<name>.part` beside its final name while its SHA-256 and size
are checked, then renamed; the manifest is written last (temp file + rename), so the landing
sensor never sees a half drop — a folder without manifest.json is "still arriving". A failed
or interrupted transfer removes what it wrote and is retried on the next tick. A drop already
fetched (same extract id, same manifest bytes) is not fetched again; a drop already in the
landing zone is left alone. Names from the remote side become paths only as plain tokens.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.config import Settings
from pipelines.ingest.landing import EXTRACT_ID, MANIFEST
from pipelines.ingest.limits import IngestLimits
from pipelines.pull.remote import MissingFile, Remote, RemoteError, connect
from pipelines.pull.sources import Source
from pipelines.tables import PULL_STATUS

SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class PullResult:
    municipality_code: str
    listed: int = 0
    complete: int = 0  # drops with a manifest on the remote side
    fetched: list[str] = field(default_factory=list)
    already: int = 0  # fetched before, or already in the landing zone
    bytes: int = 0
    failures: list[str] = field(default_factory=list)  # our own sentences, never remote text
    error: str | None = None  # the source as a whole could not be read

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures


def state_path(settings: Settings, municipality: str) -> Path:
    return settings.warehouse / "pull" / f"{municipality}.json"


def read_state(settings: Settings, municipality: str) -> dict:
    path = state_path(settings, municipality)
    if not path.exists():
        return {"fetched": {}}
    return json.loads(path.read_text("utf-8"))


def _write_state(settings: Settings, municipality: str, state: dict) -> None:
    path = state_path(settings, municipality)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), "utf-8")
    os.replace(tmp, path)
    # What dbt reads (source pull.status): the last listing and its error, if any.
    status = path.with_suffix(".parquet")
    tmp = status.with_suffix(f".tmp-{os.getpid()}")
    pq.write_table(pa.Table.from_pylist([{
        "municipality_code": municipality,
        "last_listing_at": datetime.fromisoformat(state["last_listing_at"]),
        "last_error": state.get("last_error")}], schema=PULL_STATUS.schema()), tmp)
    os.replace(tmp, status)


class _Refused(Exception):
    """One drop cannot be fetched; the message is ours."""


def _manifest_files(data: bytes) -> dict[str, str]:
    """name → sha256 of the files a remote manifest names; refuses anything unusable."""
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise _Refused("its manifest is not JSON") from error
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise _Refused("its manifest names no files")
    named = {}
    for entry in files.values():
        path = entry.get("path") if isinstance(entry, dict) else None
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(path, str) or not EXTRACT_ID.fullmatch(path) or path == MANIFEST:
            raise _Refused("its manifest names a file that is not a plain file name "
                           "(letters, digits, '.', '_', '-')")
        if not isinstance(sha, str) or not SHA256.fullmatch(sha):
            raise _Refused("its manifest has a file without a SHA-256")
        named[path] = sha
    return named


def _copy(remote: Remote, extract_id: str, name: str, sha256: str, target: Path,
          limits: IngestLimits) -> int:
    part = target.with_name(target.name + ".part")
    digest, size = hashlib.sha256(), 0
    with open(part, "wb") as out:
        for chunk in remote.stream(extract_id, name):
            size += len(chunk)
            if size > limits.max_file_bytes:
                raise _Refused(f"a file is larger than the {limits.max_file_bytes} byte limit")
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise _Refused("a file does not match the SHA-256 in its manifest")
    os.replace(part, target)
    return size


def _fetch_drop(remote: Remote, source: Source, extract_id: str, manifest: bytes,
                settings: Settings, result: PullResult) -> None:
    limits = settings.limits
    files = _manifest_files(manifest)
    folder = settings.landing / source.municipality_code / extract_id
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        copied = 0
        for name, sha in sorted(files.items()):
            copied += _copy(remote, extract_id, name, sha, folder / name, limits)
        tmp = folder / f".{MANIFEST}.part"
        tmp.write_bytes(manifest)
        os.replace(tmp, folder / MANIFEST)  # last: now the drop is complete
        result.bytes += copied + len(manifest)
    except BaseException:
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for leftover in folder.glob("*.part"):
                leftover.unlink(missing_ok=True)
        raise


def pull_source(source: Source, settings: Settings, remote: Remote | None = None
                ) -> PullResult:
    """One pass over one source; never raises for what the remote side does."""
    result = PullResult(source.municipality_code)
    state = read_state(settings, source.municipality_code)
    state["last_listing_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        remote = remote or connect(source)
    except RemoteError as error:
        result.error = str(error)
    else:
        try:
            _pass(remote, source, settings, state, result)
        except RemoteError as error:
            result.error = str(error)
        finally:
            remote.close()
    state["last_error"] = result.error
    if result.error is None:
        state["last_success_at"] = state["last_listing_at"]
    state["last_failures"] = result.failures
    _write_state(settings, source.municipality_code, state)
    return result


def _pass(remote: Remote, source: Source, settings: Settings, state: dict,
          result: PullResult) -> None:
    names = remote.list_drops()
    result.listed = len(names)
    skipped_names = 0
    for extract_id in sorted(names):
        if not EXTRACT_ID.fullmatch(extract_id):
            skipped_names += 1
            continue
        if (settings.landing / source.municipality_code / extract_id / MANIFEST).exists():
            result.already += 1
            continue
        try:
            manifest = remote.read_small(extract_id, MANIFEST,
                                         settings.limits.max_manifest_bytes)
        except MissingFile:
            continue  # still being written on the remote side
        except RemoteError as error:
            result.failures.append(f"drop {extract_id}: {error}")
            continue
        result.complete += 1
        digest = hashlib.sha256(manifest).hexdigest()
        if state["fetched"].get(extract_id) == digest:
            result.already += 1
            continue
        try:
            _fetch_drop(remote, source, extract_id, manifest, settings, result)
        except MissingFile:
            result.failures.append(f"drop {extract_id}: a file its manifest names is missing")
        except (_Refused, RemoteError) as error:
            result.failures.append(f"drop {extract_id}: {error}")
        else:
            state["fetched"][extract_id] = digest
            result.fetched.append(extract_id)
    if skipped_names:
        result.failures.append(f"{skipped_names} remote entries whose names are not plain "
                               "tokens were skipped")
