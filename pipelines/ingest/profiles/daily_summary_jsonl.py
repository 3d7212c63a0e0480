"""`daily_summary_jsonl` (DESIGN §4.2): daily summaries from an API as JSON Lines, ISO dates."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from pipelines.ingest.convert import to_date, to_number, to_text, without_rejected
from pipelines.ingest.landing import Manifest
from pipelines.ingest.readers import JsonLinesSource, RawSource
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
TEXT, NUMBER, OBJECT = "a string", "a number", "an object"
# JSON types each key must have; null is allowed only where the contract says so.
TYPES = {
    "student_ref": (TEXT, False), "learner_oid": (TEXT, True), "school_code": (TEXT, False),
    "grade": (NUMBER, False), "enrolled_from": (TEXT, False), "enrolled_to": (TEXT, True),
    "date": (TEXT, False), "scheduled_lessons": (NUMBER, False), "absences": (OBJECT, False),
    "type": (TEXT, False), "role": (TEXT, True),
}


def _json_type(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return TEXT
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return NUMBER
    if isinstance(value, dict):
        return OBJECT
    return type(value).__name__


def _check_types(source: RawSource, frame: pd.DataFrame) -> pd.DataFrame:
    """Reject lines whose keys have the wrong JSON type, naming key and types."""
    for column in source.expected:
        wanted, nullable = TYPES[column]
        found = frame[column].map(_json_type)
        bad = found.ne(wanted) & ~(found.isna() & nullable)
        for row, kind in zip(frame.loc[bad, "_row"], found[bad], strict=True):
            source.reject(int(row), column,
                          f"expected {wanted}, found {kind or 'null/missing'}")
    return without_rejected(source, frame)


def read(manifest: Manifest, writer: ExtractWriter) -> None:
    start, end = manifest.coverage_start, manifest.coverage_end

    def source(key: str) -> JsonLinesSource:
        entry = manifest.files[key]
        src = JsonLinesSource(entry.path, COLUMNS[key], entry.label,
                              max_line_bytes=writer.limits.max_line_bytes)
        src.aliases = ALIASES
        return src

    src = source("students")
    for raw in writer.read(src):
        raw = _check_types(src, raw)
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
        raw = _check_types(src, raw)
        day = to_date(src, raw, "date", ISO)
        frame = raw.assign(local_id=to_text(raw, "student_ref"), period_start=day,
                           period_end=day,
                           scheduled_lessons=raw["scheduled_lessons"].astype("float64"))
        frame = without_rejected(src, frame)
        # Explode first: a line with a bad count is rejected whole, attendance included.
        absences = _explode_absences(src, frame)
        writer.records("attendance", without_rejected(src, frame),
                       attendance_schema(start, end, max_lessons=12), src)
        writer.records("absences", without_rejected(src, absences),
                       absences_schema(start, end, codes, 12), src)

    src = source("interventions")
    codes = writer.mapped_codes("intervention")
    for raw in writer.read(src):
        raw = _check_types(src, raw)
        frame = raw.assign(local_id=to_text(raw, "student_ref"),
                           intervention_date=to_date(src, raw, "date", ISO),
                           local_code=to_text(raw, "type"), role=to_text(raw, "role"))
        writer.records("interventions", without_rejected(src, frame),
                       interventions_schema(start, end, codes), src)


def _explode_absences(source: RawSource, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (line, code) from the `absences` object; a non-number count rejects."""
    rows, positions = [], []
    for position, (local_id, absences, row) in enumerate(zip(
            frame["local_id"], frame["absences"], frame["_row"], strict=True)):
        for local_code, lessons in absences.items():
            if _json_type(lessons) != NUMBER:
                # Neither the code nor the count is quoted: both come from the file.
                source.reject(int(row), "absences", "a count in the object is not a number")
                continue
            rows.append((local_id, str(local_code), float(lessons), row))
            positions.append(position)
    exploded = pd.DataFrame(rows, columns=["local_id", "local_code", "lessons", "_row"])
    # The dates are taken by position, not value by value (no Timestamp object per row).
    take = np.asarray(positions, dtype=np.int64)
    exploded.insert(1, "period_start", frame["period_start"].to_numpy()[take])
    exploded.insert(2, "period_end", frame["period_end"].to_numpy()[take])
    exploded["period_start"] = exploded["period_start"].astype("datetime64[us]")
    exploded["period_end"] = exploded["period_end"].astype("datetime64[us]")
    # A chunk with no absences gives an empty frame of object columns; give it the types of a
    # non-empty one, or Pandera's dtype check would quarantine a valid drop.
    exploded = exploded.astype({"local_id": "str", "local_code": "str", "lessons": "float64",
                                "_row": "int64"})
    return exploded
