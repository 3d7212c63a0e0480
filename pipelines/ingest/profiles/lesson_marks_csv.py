"""`lesson_marks_csv` (DESIGN §4.1): Wilma-style lesson markings, `;`-separated, d.m.yyyy dates."""

from __future__ import annotations

from pipelines.ingest.convert import to_date, to_number, to_text, without_rejected
from pipelines.ingest.landing import Manifest
from pipelines.ingest.readers import CsvSource
from pipelines.ingest.writer import ExtractWriter
from schemas.records import (
    attendance_schema,
    interventions_schema,
    marks_schema,
    students_schema,
)

PROFILE = "lesson_marks_csv"
COLUMNS = {
    "students": ["oppilas_id", "oppijanumero", "koulu", "vuosiluokka", "alkaen", "paattyen"],
    "lessons": ["oppilas_id", "pvm", "tunnit"],
    "marks": ["oppilas_id", "pvm", "tunti", "merkinta", "muokattu"],
    # `lisatiedot` (free text) is deliberately absent: it is never read (DESIGN §4.4).
    "interventions": ["oppilas_id", "pvm", "toimenpide", "vastuutaho"],
}
ALIASES = {
    "local_id": "oppilas_id", "learner_oid": "oppijanumero", "school_code": "koulu",
    "grade": "vuosiluokka", "enrolled_from": "alkaen", "enrolled_to": "paattyen",
    "period_start": "pvm", "period_end": "pvm", "date": "pvm", "intervention_date": "pvm",
    "scheduled_lessons": "tunnit", "lesson": "tunti", "modified": "muokattu",
    "role": "vastuutaho",
}
# `local_code` is a different column in each file that has one.
CODE_COLUMN = {"marks": "merkinta", "interventions": "toimenpide"}
DATE = "%d.%m.%Y"
TIMESTAMP = "%d.%m.%Y %H:%M"


def read(manifest: Manifest, writer: ExtractWriter) -> None:
    """Read the four files in dependency order: students first, since they define the pupils."""
    start, end = manifest.coverage_start, manifest.coverage_end

    def source(key: str) -> CsvSource:
        entry = manifest.files[key]
        src = CsvSource(entry.path, COLUMNS[key], manifest.encoding, entry.label)
        src.aliases = {**ALIASES, "local_code": CODE_COLUMN.get(key, "local_code")}
        return src

    src = source("students")
    for raw in writer.read(src):
        frame = raw.assign(
            local_id=to_text(raw, "oppilas_id"),
            learner_oid=to_text(raw, "oppijanumero"),
            school_code=to_text(raw, "koulu"),
            grade=to_number(src, raw, "vuosiluokka", decimal_comma=True, integer=True),
            enrolled_from=to_date(src, raw, "alkaen", DATE),
            enrolled_to=to_date(src, raw, "paattyen", DATE, required=False),
        )
        writer.students(without_rejected(src, frame), students_schema(), src)

    src = source("lessons")
    for raw in writer.read(src):
        day = to_date(src, raw, "pvm", DATE)
        frame = raw.assign(
            local_id=to_text(raw, "oppilas_id"), period_start=day, period_end=day,
            scheduled_lessons=to_number(src, raw, "tunnit", decimal_comma=True))
        writer.records("attendance", without_rejected(src, frame),
                       attendance_schema(start, end, max_lessons=12), src)

    src = source("marks")
    codes = writer.mapped_codes("absence")
    for raw in writer.read(src):
        frame = raw.assign(
            local_id=to_text(raw, "oppilas_id"),
            date=to_date(src, raw, "pvm", DATE),
            lesson=to_number(src, raw, "tunti", decimal_comma=False, integer=True),
            local_code=to_text(raw, "merkinta"),
            modified=to_date(src, raw, "muokattu", TIMESTAMP),
        )
        writer.records("marks", without_rejected(src, frame), marks_schema(start, end, codes), src)

    src = source("interventions")
    codes = writer.mapped_codes("intervention")
    for raw in writer.read(src):
        frame = raw.assign(
            local_id=to_text(raw, "oppilas_id"),
            intervention_date=to_date(src, raw, "pvm", DATE),
            local_code=to_text(raw, "toimenpide"),
            role=to_text(raw, "vastuutaho"),
        )
        writer.records("interventions", without_rejected(src, frame),
                       interventions_schema(start, end, codes), src)
