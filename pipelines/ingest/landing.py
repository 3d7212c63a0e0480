"""The landing zone contract (DESIGN §3): find complete drops and verify their manifests."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pipelines.ingest.errors import DropError, file_label
from pipelines.ingest.ledger import seen_load_ids
from pipelines.ingest.limits import IngestLimits, check_file_size, read_json_document

MANIFEST = "manifest.json"
PROFILES = ("lesson_marks_csv", "daily_summary_jsonl", "weekly_totals_xlsx")
# The manifest keys each profile must name (DESIGN §4); `workbook` counts rows per sheet.
PROFILE_FILES = {
    "lesson_marks_csv": ("students", "lessons", "marks", "interventions"),
    "daily_summary_jsonl": ("students", "attendance", "interventions"),
    "weekly_totals_xlsx": ("workbook",),
}
ENCODINGS = ("utf-8", "utf8", "cp1252", "windows-1252")


# Folder names are chosen by whoever writes the drop: they become identifiers (ledger rows, run
# keys, file names) only when they are plain tokens (DESIGN §3).
MUNICIPALITY_FOLDER = re.compile(r"\d{3}")
EXTRACT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SHA256 = re.compile(r"[0-9A-Fa-f]{64}")
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # plausible coverage dates


@dataclass(frozen=True)
class Drop:
    """A complete drop: a folder under landing/<municipality>/ holding manifest.json.

    `extract_id` is the folder's name when that is a valid extract id; otherwise a stand-in
    (`invalid-<hash>`) that names the drop without repeating the folder name, and the drop is
    quarantined for its name.
    """

    municipality_code: str
    extract_id: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    @property
    def folder_name_valid(self) -> bool:
        return EXTRACT_ID.fullmatch(self.path.name) is not None

    def manifest_sha256(self) -> str:
        try:
            return sha256_file(self.manifest_path)
        except OSError:
            return "0" * 64  # vanished or unreadable: read_manifest will say so

    def load_id(self) -> str:
        """Identifies one delivery: a re-delivery with other checksums is another load."""
        return f"{self.extract_id}__{self.manifest_sha256()[:12]}"


def extract_id_of(folder: Path) -> str:
    """The folder name when it is a valid extract id, else a stand-in that does not quote it."""
    if EXTRACT_ID.fullmatch(folder.name):
        return folder.name
    digest = hashlib.sha256(os.fsencode(folder.name)).hexdigest()[:12]
    return f"invalid-{digest}"


@dataclass(frozen=True)
class FileEntry:
    key: str
    path: Path
    sha256: str
    rows: int | dict[str, int]

    @property
    def label(self) -> str:
        """How reasons name this file (never a name the drop made up; errors.file_label)."""
        return file_label(self.path.name, self.key)


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


def _complete_drops(landing: Path) -> list[Path]:
    if not landing.is_dir():
        return []
    return [manifest.parent for manifest in landing.glob(f"*/*/{MANIFEST}")
            if manifest.is_file()]


def scan_landing(landing: Path, known_municipalities: set[str] | None = None) -> list[Drop]:
    """Every complete drop of a known municipality (default: the reference seed of this
    repository); a folder without manifest.json is still arriving. Drops under any other
    folder are `unattributed_drops`."""
    known = known_municipalities if known_municipalities is not None else _known()
    drops = [Drop(municipality_code=folder.parent.name, extract_id=extract_id_of(folder),
                  path=folder)
             for folder in _complete_drops(landing) if folder.parent.name in known]
    return sorted(drops, key=lambda d: (d.municipality_code, d.extract_id))


@dataclass(frozen=True)
class UnattributedDrop:
    """A complete drop under a folder that is no municipality of the reference
    classification: it can never be loaded, nor get a ledger row (DESIGN §3)."""

    path: Path
    drop_id: str  # `<hash of the two folder names>`, never the names themselves
    reason: str

    @property
    def shown_folder(self) -> str | None:
        """`<municipality folder>/<extract folder>` when both are plain tokens, else None."""
        first, second = self.path.parent.name, self.path.name
        if MUNICIPALITY_FOLDER.fullmatch(first) and EXTRACT_ID.fullmatch(second):
            return f"{first}/{second}"
        return None


def unattributed_drops(landing: Path, known_municipalities: set[str] | None = None
                       ) -> list[UnattributedDrop]:
    known = known_municipalities if known_municipalities is not None else _known()
    found = []
    for folder in _complete_drops(landing):
        name = folder.parent.name
        if name in known:
            continue
        reason = ("the folder is not a 3-digit municipality code"
                  if not MUNICIPALITY_FOLDER.fullmatch(name) else
                  "the folder's municipality code is not in the reference classification "
                  "(kunnat_2026)")
        digest = hashlib.sha256(os.fsencode(f"{name}/{folder.name}")).hexdigest()[:16]
        found.append(UnattributedDrop(path=folder, drop_id=f"unattributed-{digest}",
                                      reason=reason + "; the drop is kept and never loaded"))
    return sorted(found, key=lambda d: d.drop_id)


def _known() -> set[str]:
    from pipelines.config import DEFAULT_DBT_PROJECT_DIR
    from pipelines.ingest.code_maps import known_municipalities

    return known_municipalities(DEFAULT_DBT_PROJECT_DIR / "seeds")


def pending_drops(landing: Path, ledger_dir: Path, known_municipalities: set[str],
                  municipality_code: str | None = None) -> list[Drop]:
    """Complete drops without a ledger row, oldest extract first (DESIGN §3 ordering)."""
    seen = seen_load_ids(ledger_dir)
    drops = [
        d for d in scan_landing(landing, known_municipalities)
        if (municipality_code is None or d.municipality_code == municipality_code)
        and d.load_id() not in seen
    ]

    def order(drop: Drop) -> tuple:
        # Unreadable manifests sort last; ingest quarantines them with the reason.
        extracted = peek_extracted_at(drop)
        return (extracted is None, extracted.timestamp() if extracted else 0.0,
                drop.municipality_code, drop.extract_id)

    return sorted(drops, key=order)


def peek_extracted_at(drop: Drop) -> datetime | None:
    """extracted_at of a drop for ordering, or None when the manifest cannot be read."""
    try:
        raw = read_json_document(drop.manifest_path, IngestLimits().max_manifest_bytes,
                                 label=MANIFEST)
        return _parse_timestamp(raw["extracted_at"])  # type: ignore[index]
    except (DropError, ValueError, KeyError, TypeError, OverflowError):
        return None


def read_manifest(drop: Drop, known_municipalities: set[str], *,
                  now: datetime | None = None, limits: IngestLimits | None = None) -> Manifest:
    """Parse and check a manifest against the contract; raise DropError naming what is wrong,
    never quoting what the manifest says."""
    limits = limits or IngestLimits()
    if not drop.folder_name_valid:
        raise DropError("the extract folder's name is not a valid extract id (letters, digits, "
                        "'.', '_' and '-', at most 64, starting with a letter or digit)")
    raw = read_json_document(drop.manifest_path, limits.max_manifest_bytes, label=MANIFEST)
    if not isinstance(raw, dict):
        raise DropError("manifest is not a JSON object", file=MANIFEST)

    def need(key: str, kind: type, what: str):
        value = raw.get(key)
        if value is None or value == "":
            raise DropError(f"manifest has no '{key}'", file=MANIFEST)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DropError(f"manifest '{key}' is not {what}", file=MANIFEST)
        return value

    code = need("municipality_code", str, "a 3-digit string")
    if not MUNICIPALITY_FOLDER.fullmatch(code):
        raise DropError("manifest 'municipality_code' is not a 3-digit string", file=MANIFEST)
    if code != drop.municipality_code:
        raise DropError("manifest 'municipality_code' does not match the municipality folder",
                        file=MANIFEST)
    if code not in known_municipalities:
        raise DropError("municipality code is not in the reference classification",
                        file=MANIFEST)
    profile = need("profile", str, "a string")
    if profile not in PROFILES:
        raise DropError("unknown profile (lesson_marks_csv, daily_summary_jsonl or "
                        "weekly_totals_xlsx)", file=MANIFEST)
    try:
        extracted_at = _parse_timestamp(need("extracted_at", str, "a string"))
    except (ValueError, OverflowError) as exc:
        raise DropError("manifest 'extracted_at' is not an ISO 8601 timestamp with a UTC "
                        "offset", file=MANIFEST) from exc
    now = now or datetime.now(UTC)
    if extracted_at > now + timedelta(days=1):
        raise DropError("extracted_at is in the future", file=MANIFEST)
    coverage = need("coverage", dict, "an object")
    try:
        start = date.fromisoformat(coverage["start"])
        end = date.fromisoformat(coverage["end"])
    except (ValueError, TypeError, KeyError) as exc:
        raise DropError("manifest 'coverage' is not two ISO dates (start, end)",
                        file=MANIFEST) from exc
    if end < start:
        raise DropError("coverage end is before its start", file=MANIFEST)
    if start < EARLIEST or end > LATEST:
        raise DropError(f"coverage reaches outside {EARLIEST.year}-{LATEST.year}",
                        file=MANIFEST)
    encoding = raw.get("encoding") or "utf-8"
    if not isinstance(encoding, str) or encoding.lower() not in ENCODINGS:
        raise DropError("unsupported encoding (utf-8 or cp1252)", file=MANIFEST)

    files_raw = need("files", dict, "an object")
    files: dict[str, FileEntry] = {}
    root = drop.path.resolve()
    for key in PROFILE_FILES[profile]:
        entry = files_raw.get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
                or not entry["path"] or "\x00" in entry["path"]:
            raise DropError(f"manifest names no '{key}' file", file=MANIFEST)
        path = (drop.path / entry["path"]).resolve()
        if root not in path.parents:
            raise DropError(f"file path of '{key}' leaves the drop folder", file=MANIFEST)
        label = file_label(path.name, key)
        if not path.is_file():
            raise DropError(f"file named in manifest is missing: {label}", file=MANIFEST)
        sha = entry.get("sha256")
        if not isinstance(sha, str) or not SHA256.fullmatch(sha):
            raise DropError(f"manifest has no SHA-256 for '{key}'", file=MANIFEST)
        rows = entry.get("rows")
        if not _row_count(rows, per_sheet=key == "workbook"):
            raise DropError(f"manifest has no row count for '{key}'", file=MANIFEST)
        if max(rows.values() if isinstance(rows, dict) else [rows], default=0) > limits.max_rows:
            raise DropError(f"manifest announces more than {limits.max_rows} data rows for "
                            f"'{key}'", file=MANIFEST)
        check_file_size(path, limits, label=label)
        files[key] = FileEntry(key=key, path=path, sha256=sha, rows=rows)
    return Manifest(
        municipality_code=code,
        profile=profile,
        extracted_at=extracted_at,
        coverage_start=start,
        coverage_end=end,
        encoding="cp1252" if encoding.lower() in ("cp1252", "windows-1252") else "utf-8",
        files=files,
    )


def _row_count(rows: object, *, per_sheet: bool) -> bool:
    def count(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0

    if per_sheet and isinstance(rows, dict):
        return all(isinstance(k, str) and count(v) for k, v in rows.items())
    return count(rows)


def verify_checksums(manifest: Manifest) -> dict[str, str]:
    """Check every file's SHA-256 against the manifest; return them for the ledger."""
    sums = {}
    for entry in manifest.files.values():
        actual = sha256_file(entry.path)
        if actual.lower() != entry.sha256.lower():
            raise DropError("checksum does not match the manifest", file=entry.label)
        sums[entry.key] = actual
    return sums


def _parse_timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("no UTC offset")
    return parsed
