"""`daily_summary_jsonl` (DESIGN §4.2): daily summaries from an API as JSON Lines, ISO dates."""

from __future__ import annotations

import pandas as pd

from pipelines.ingest.convert import to_date, to_number, to_text, without_rejected
from pipelines.ingest.landing import Manifest
from pipelines.ingest.readers import NUMBER, OBJECT, TEXT, JsonLinesSource
from pipelines.ingest.writer import ExtractWriter
from schemas.records import (
    absences_schema,
    attendance_schema,
    interventions_schema,
    students_schema,
)

PROFILE = "daily_summary_jsonl"
COLUMNS = {
    "students": ["student_ref", "learner_oid", "school_code", "grade", "enrolled_from",
                 "enrolled_to"],
    "attendance": ["student_ref", "date", "scheduled_lessons", "absences"],
    "interventions": ["student_ref", "date", "type", "role"],
}
ALIASES = {"local_id": "student_ref", "period_start": "date", "period_end": "date",
           "intervention_date": "date", "local_code": "type", "lessons": "absences"}
ISO = "%Y-%m-%d"
# JSON types each key must have; null is allowed only where the contract says so.
TYPES = {
    "student_ref": (TEXT, False), "learner_oid": (TEXT, True), "school_code": (TEXT, False),
    "grade": (NUMBER, False), "enrolled_from": (TEXT, False), "enrolled_to": (TEXT, True),
    "date": (TEXT, False), "scheduled_lessons": (NUMBER, False), "absences": (OBJECT, False),
    "type": (TEXT, False), "role": (TEXT, True),
}


def read(manifest: Manifest, writer: ExtractWriter) -> None:
    start, end = manifest.coverage_start, manifest.coverage_end

    def source(key: str) -> JsonLinesSource:
        entry = manifest.files[key]
        src = JsonLinesSource(entry.path, COLUMNS[key], entry.label,
                              max_line_bytes=writer.limits.max_line_bytes, types=TYPES,
                              explode="absences" if key == "attendance" else None)
        src.aliases = ALIASES
        return src

    src = source("students")
    for raw in writer.read(src):
        frame = raw.assign(
            local_id=to_text(raw, "student_ref"),
            learner_oid=to_text(raw, "learner_oid"),
            school_code=to_text(raw, "school_code"),
            grade=to_number(src, raw, "grade", decimal_comma=False, integer=True),
            enrolled_from=to_date(src, raw, "enrolled_from", ISO),
            enrolled_to=to_date(src, raw, "enrolled_to", ISO, required=False),
        )
        writer.students(without_rejected(src, frame), students_schema(), src)

    src = source("attendance")
    codes = writer.mapped_codes("absence")
    for raw in writer.read(src):
        day = to_date(src, raw, "date", ISO)
        frame = raw.assign(local_id=to_text(raw, "student_ref"), period_start=day,
                           period_end=day,
                           scheduled_lessons=raw["scheduled_lessons"].astype("float64"))
        frame = without_rejected(src, frame)
        absences = _absences(src, frame)
        writer.records("attendance", without_rejected(src, frame),
                       attendance_schema(start, end, max_lessons=12), src)
        writer.records("absences", without_rejected(src, absences),
                       absences_schema(start, end, codes, 12), src)

    src = source("interventions")
    codes = writer.mapped_codes("intervention")
    for raw in writer.read(src):
        frame = raw.assign(local_id=to_text(raw, "student_ref"),
                           intervention_date=to_date(src, raw, "date", ISO),
                           local_code=to_text(raw, "type"), role=to_text(raw, "role"))
        writer.records("interventions", without_rejected(src, frame),
                       interventions_schema(start, end, codes), src)


def _absences(source: JsonLinesSource, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (line, code) of the `absences` objects of the frame's lines."""
    entries = source.entries.rename(columns={"key": "local_code", "value": "lessons"})
    lines = frame[["_row", "local_id", "period_start", "period_end"]]
    # Only lines still valid keep their entries (merge keeps the entries' order).
    absences = entries.merge(lines, on="_row", how="inner")
    return absences[["local_id", "period_start", "period_end", "local_code", "lessons", "_row"]]
