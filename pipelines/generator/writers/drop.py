"""`write_drop`: a simulation as one drop folder, by its profile's writer, manifest last."""

from __future__ import annotations

import json
import os
from datetime import date, datetime, time
from pathlib import Path

from pipelines.generator.calendar import HELSINKI, _normalise_code, whole_weeks
from pipelines.generator.simulation import Simulation
from pipelines.generator.vocabulary import PROFILES
from pipelines.generator.writers._common import _Extract, _is_utf8
from pipelines.generator.writers.daily_summary_jsonl import _write_jsonl_profile
from pipelines.generator.writers.lesson_marks_csv import _write_csv_profile
from pipelines.generator.writers.weekly_totals_xlsx import _write_xlsx_profile

_WRITERS = {
    "lesson_marks_csv": _write_csv_profile,
    "daily_summary_jsonl": _write_jsonl_profile,
    "weekly_totals_xlsx": _write_xlsx_profile,
}


def _extraction_time(extracted_at: datetime | None, coverage_end: date) -> datetime:
    if extracted_at is None:
        return datetime.combine(coverage_end, time(23, 40), tzinfo=HELSINKI)
    if extracted_at.tzinfo is None:
        return extracted_at.replace(tzinfo=HELSINKI)
    return extracted_at.astimezone(HELSINKI)


def write_drop(
    sim: Simulation,
    profile: str,
    landing: Path,
    *,
    municipality_code: str | None = None,
    coverage: tuple[date, date] | None = None,
    extracted_at: datetime | None = None,
    extract_id: str | None = None,
    encoding: str = "utf-8",
) -> Path:
    """Write the simulation as one drop `landing/<mmm>/<extract_id>/`, manifest.json last."""
    if profile not in _WRITERS:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    if profile != "lesson_marks_csv" and not _is_utf8(encoding):
        raise ValueError(f"{profile} is UTF-8 by contract; encoding applies to CSV only")
    code = _normalise_code(municipality_code or sim.municipality_code)
    window = coverage or (sim.days[0].item(), sim.days[-1].item())
    # Extracted the night of the last day covered, whatever the profile: a weekly sheet sent
    # on Friday night belongs to the same night as the daily systems' extracts.
    moment = _extraction_time(extracted_at, window[1])
    if profile == "weekly_totals_xlsx":
        # A weekly record counts on its Sunday, so the window must hold whole weeks.
        window = whole_weeks(window)
    folder = Path(landing) / code / (extract_id or moment.strftime("%Y%m%dT%H%M%S"))
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.json"
    # Rewriting a drop: withdraw the old manifest first so it never vouches for new files.
    manifest_path.unlink(missing_ok=True)

    ext = _Extract(sim, code, profile, window, moment, encoding)
    files = _WRITERS[profile](ext, folder)
    manifest = {
        "municipality_code": code,
        "profile": profile,
        "extracted_at": moment.isoformat(),
        "coverage": {"start": window[0].isoformat(), "end": window[1].isoformat()},
        **({"encoding": encoding} if profile == "lesson_marks_csv" else {}),
        "files": files,
    }
    temporary = folder / "manifest.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(temporary, manifest_path)
    return folder
