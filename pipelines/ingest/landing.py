"""The landing zone contract (DESIGN §3): find complete drops and verify their manifests."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from pipelines.ingest.errors import DropError

MANIFEST = "manifest.json"
PROFILES = ("lesson_marks_csv", "daily_summary_jsonl", "weekly_totals_xlsx")
# The manifest keys each profile must name (DESIGN §4); `workbook` counts rows per sheet.
PROFILE_FILES = {
    "lesson_marks_csv": ("students", "lessons", "marks", "interventions"),
    "daily_summary_jsonl": ("students", "attendance", "interventions"),
    "weekly_totals_xlsx": ("workbook",),
}


@dataclass(frozen=True)
class Drop:
    """A complete drop: a folder under landing/<municipality>/ holding manifest.json."""

    municipality_code: str
    extract_id: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest_sha256(self) -> str:
        return sha256_file(self.manifest_path)

    def load_id(self) -> str:
        """Identifies one delivery: a re-delivery with other checksums is another load."""
        return f"{self.extract_id}__{self.manifest_sha256()[:12]}"


@dataclass(frozen=True)
class FileEntry:
    key: str
    path: Path
    sha256: str
    rows: int | dict[str, int]


@dataclass(frozen=True)
class Manifest:
    municipality_code: str
    profile: str
    extracted_at: datetime
    coverage_start: date
    coverage_end: date
    encoding: str
    files: dict[str, FileEntry] = field(default_factory=dict)


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks so memory stays flat."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def scan_landing(landing: Path) -> list[Drop]:
    """Every complete drop in the landing zone; a folder without manifest.json is still arriving."""
    if not landing.is_dir():
        return []
    drops = [
        Drop(municipality_code=manifest.parent.parent.name, extract_id=manifest.parent.name,
             path=manifest.parent)
        for manifest in landing.glob(f"*/*/{MANIFEST}")
        if manifest.is_file()
    ]
    return sorted(drops, key=lambda d: (d.municipality_code, d.extract_id))


def peek_extracted_at(drop: Drop) -> datetime | None:
    """extracted_at of a drop for ordering, or None when the manifest cannot be read."""
    try:
        return _parse_timestamp(json.loads(drop.manifest_path.read_text("utf-8"))["extracted_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_manifest(drop: Drop, known_municipalities: set[str]) -> Manifest:
    """Parse and check a manifest against the contract; raise DropError naming what is wrong."""
    try:
        raw = json.loads(drop.manifest_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DropError(f"manifest unreadable: {exc}", file=MANIFEST) from exc
    if not isinstance(raw, dict):
        raise DropError("manifest is not a JSON object", file=MANIFEST)

    def need(key: str):
        if key not in raw or raw[key] in (None, ""):
            raise DropError(f"manifest has no '{key}'", file=MANIFEST)
        return raw[key]

    code = str(need("municipality_code"))
    if code != drop.municipality_code:
        raise DropError(
            f"manifest municipality_code {code} does not match folder {drop.municipality_code}",
            file=MANIFEST,
        )
    if code not in known_municipalities:
        raise DropError(f"unknown municipality code {code}", file=MANIFEST)
    profile = str(need("profile"))
    if profile not in PROFILES:
        raise DropError(f"unknown profile '{profile}'", file=MANIFEST)
    try:
        extracted_at = _parse_timestamp(need("extracted_at"))
        coverage = need("coverage")
        start = date.fromisoformat(coverage["start"])
        end = date.fromisoformat(coverage["end"])
    except (ValueError, TypeError, KeyError) as exc:
        raise DropError(f"manifest has a bad date: {exc}", file=MANIFEST) from exc
    if end < start:
        raise DropError("coverage end is before its start", file=MANIFEST)
    encoding = str(raw.get("encoding") or "utf-8").lower()
    if encoding not in ("utf-8", "utf8", "cp1252", "windows-1252"):
        raise DropError(f"unsupported encoding '{encoding}'", file=MANIFEST)

    files_raw = need("files")
    if not isinstance(files_raw, dict):
        raise DropError("manifest 'files' is not an object", file=MANIFEST)
    files: dict[str, FileEntry] = {}
    for key in PROFILE_FILES[profile]:
        entry = files_raw.get(key)
        if not isinstance(entry, dict) or not entry.get("path"):
            raise DropError(f"manifest names no '{key}' file", file=MANIFEST)
        path = (drop.path / entry["path"]).resolve()
        if drop.path.resolve() not in path.parents:
            raise DropError(f"file path of '{key}' leaves the drop folder", file=MANIFEST)
        if not path.is_file():
            raise DropError(f"file named in manifest is missing: {entry['path']}", file=MANIFEST)
        rows = entry.get("rows")
        if not (isinstance(rows, int) or isinstance(rows, dict)):
            raise DropError(f"manifest has no row count for '{key}'", file=MANIFEST)
        files[key] = FileEntry(key=key, path=path, sha256=str(entry.get("sha256", "")), rows=rows)
    return Manifest(
        municipality_code=code,
        profile=profile,
        extracted_at=extracted_at,
        coverage_start=start,
        coverage_end=end,
        encoding="cp1252" if encoding in ("cp1252", "windows-1252") else "utf-8",
        files=files,
    )


def verify_checksums(manifest: Manifest) -> dict[str, str]:
    """Check every file's SHA-256 against the manifest; return them for the ledger."""
    sums = {}
    for entry in manifest.files.values():
        actual = sha256_file(entry.path)
        if actual.lower() != entry.sha256.lower():
            raise DropError("checksum does not match the manifest", file=entry.path.name)
        sums[entry.key] = actual
    return sums


def _parse_timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"extracted_at {value} has no UTC offset")
    return parsed
