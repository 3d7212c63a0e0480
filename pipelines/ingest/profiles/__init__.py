"""Profile readers: the only source-specific code (DESIGN §4). Each turns its format into typed
frames and hands them to the shared ExtractWriter."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.ingest.landing import Manifest
from pipelines.ingest.writer import ExtractWriter

ProfileReader = Callable[[Manifest, ExtractWriter], None]


def reader_for(profile: str) -> ProfileReader:
    """The reader of a known profile (the manifest check has already rejected unknown ones)."""
    from pipelines.ingest.profiles import daily_summary_jsonl, lesson_marks_csv, weekly_totals_xlsx

    readers: dict[str, ProfileReader] = {
        "lesson_marks_csv": lesson_marks_csv.read,
        "daily_summary_jsonl": daily_summary_jsonl.read,
        "weekly_totals_xlsx": weekly_totals_xlsx.read,
    }
    return readers[profile]
