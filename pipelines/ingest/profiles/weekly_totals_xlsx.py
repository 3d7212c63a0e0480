"""`weekly_totals_xlsx` (DESIGN §4.3): one workbook of weekly hours per pupil.

A weekly record covers Monday-Sunday of its ISO week and counts on its Sunday; hours are
taken as lessons (one lesson = one hour), fractions allowed.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from pipelines.ingest.convert import to_number, to_text, without_rejected
from pipelines.ingest.landing import Manifest
from pipelines.ingest.limits import check_workbook
from pipelines.ingest.readers import RawSource, XlsxSheetSource
from pipelines.ingest.writer import ExtractWriter
from schemas.records import (
    absences_schema,
    attendance_schema,
    interventions_schema,
    students_schema,
)

PROFILE = "weekly_totals_xlsx"
CATEGORIES = ["sairaus", "luvallinen", "luvaton", "selvittamaton", "myohastymiset"]
SHEETS = {
    "Oppilaat": ["tunniste", "koulu", "luokka", "alkaen", "paattyen"],
    "Poissaolot": ["tunniste", "vuosi", "viikko", "pidetyt_tunnit", *CATEGORIES],
    "Toimenpiteet": ["tunniste", "pvm", "toimenpide"],
}
ALIASES = {"local_id": "tunniste", "school_code": "koulu", "grade": "luokka",
           "enrolled_from": "alkaen", "enrolled_to": "paattyen", "period_start": "viikko",
           "period_end": "viikko", "scheduled_lessons": "pidetyt_tunnit",
           "intervention_date": "pvm", "local_code": "toimenpide"}
MAX_WEEKLY_LESSONS = 12 * 7

def _cell_date(value: object) -> pd.Timestamp | None:
    """Excel date cells arrive as datetime; text cells may hold ISO or d.m.yyyy dates."""
    if isinstance(value, datetime | date):
        return pd.Timestamp(value).normalize()
    if isinstance(value, str) and value.strip():
        for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
            try:
                return pd.Timestamp(datetime.strptime(value.strip(), fmt))
            except ValueError:
                continue
    return None

def _dates(source: RawSource, frame: pd.DataFrame, column: str, required: bool) -> pd.Series:
    parsed = frame[column].map(_cell_date)
    present = frame[column].map(lambda v: v is not None and v != "")
    for row, ok, has in zip(frame["_row"], parsed.notna(), present, strict=True):
        if not ok and (has or required):
            source.reject(int(row), column, "not a date" if has else "is empty")
    return pd.to_datetime(parsed).astype("datetime64[us]")

def _grade(source: RawSource, frame: pd.DataFrame) -> pd.Series:
    """Class such as `7B` gives grade 7 (the leading number)."""
    text = frame["luokka"].astype("str").str.strip()
    grade = pd.to_numeric(text.str.extract(r"^(\d+)")[0], errors="coerce")
    for row in frame.loc[grade.isna(), "_row"]:
        source.reject(int(row), "luokka", "class does not start with a grade")
    return grade.astype("Int64")

def _week_start(source: RawSource, frame: pd.DataFrame) -> pd.Series:
    years = to_number(source, frame, "vuosi", decimal_comma=False, integer=True)
    weeks = to_number(source, frame, "viikko", decimal_comma=False, integer=True)
    mondays = []
    for row, year, week in zip(frame["_row"], years, weeks, strict=True):
        try:
            mondays.append(pd.Timestamp(date.fromisocalendar(int(year), int(week), 1)))
        except (ValueError, TypeError):
            if pd.notna(year) and pd.notna(week):
                source.reject(int(row), "viikko", "not an ISO week of that year")
            mondays.append(pd.NaT)
    return pd.Series(mondays, index=frame.index, dtype="datetime64[us]")

def read(manifest: Manifest, writer: ExtractWriter) -> None:
    start, end = manifest.coverage_start, manifest.coverage_end
    workbook = manifest.files["workbook"]
    check_workbook(workbook.path, writer.limits, label=workbook.label)

    def source(sheet: str) -> XlsxSheetSource:
        src = XlsxSheetSource(workbook.path, sheet, SHEETS[sheet], workbook.label)
        src.aliases = ALIASES
        return src

    src = source("Oppilaat")
    for raw in writer.read(src):
        frame = raw.assign(
            local_id=to_text(raw, "tunniste"),
            learner_oid=pd.Series(None, index=raw.index, dtype="str"),  # the profile has none
            school_code=to_text(raw, "koulu"), grade=_grade(src, raw),
            enrolled_from=_dates(src, raw, "alkaen", True),
            enrolled_to=_dates(src, raw, "paattyen", False))
        writer.students(without_rejected(src, frame), students_schema(), src)

    src = source("Poissaolot")
    codes = writer.mapped_codes("absence")
    for raw in writer.read(src):
        monday = _week_start(src, raw)
        frame = raw.assign(
            local_id=to_text(raw, "tunniste"), period_start=monday,
            period_end=monday + pd.Timedelta(days=6),
            scheduled_lessons=to_number(src, raw, "pidetyt_tunnit", decimal_comma=True))
        hours = {c: to_number(src, raw, c, decimal_comma=True) for c in CATEGORIES}
        frame = without_rejected(src, frame)
        writer.records("attendance", frame,
                       attendance_schema(start, end, MAX_WEEKLY_LESSONS), src)
        absences = pd.concat([
            frame[["local_id", "period_start", "period_end", "_row"]].assign(
                local_code=category, lessons=hours[category].loc[frame.index])
            for category in CATEGORIES], ignore_index=True)
        absences = absences[absences["lessons"] > 0]
        writer.records("absences", absences,
                       absences_schema(start, end, codes, MAX_WEEKLY_LESSONS), src)

    src = source("Toimenpiteet")
    codes = writer.mapped_codes("intervention")
    for raw in writer.read(src):
        frame = raw.assign(local_id=to_text(raw, "tunniste"),
                           intervention_date=_dates(src, raw, "pvm", True),
                           local_code=to_text(raw, "toimenpide"),
                           role=pd.Series(None, index=raw.index, dtype="str"))
        writer.records("interventions", without_rejected(src, frame),
                       interventions_schema(start, end, codes), src)

