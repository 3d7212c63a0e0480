"""Pandera schemas for the typed records a profile reader hands to the shared writer.

They check structure, types and ranges only (DESIGN §2: "Pandera checks structure"); what
codes mean is dbt's business, but a code with no mapping at all is caught here so no row
reaches Parquet that dbt could not harmonise.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd
import pandera.pandas as pa

DATE = "datetime64[us]"
LOCAL_ID = pa.Column(str, pa.Check.str_length(1, 64), nullable=False, title="local pupil id")


def _in_window(column: str, start: date, end: date) -> pa.Column:
    return pa.Column(
        DATE,
        pa.Check.in_range(pd.Timestamp(start), pd.Timestamp(end),
                          error=f"dated outside the coverage window {start}..{end}"),
        nullable=False,
    )


def students_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "local_id": LOCAL_ID,
            "learner_oid": pa.Column(
                str, pa.Check.str_matches(r"^\d+(\.\d+){3,}$", error="not a learner OID"),
                nullable=True),
            "school_code": pa.Column(
                str, pa.Check.str_matches(r"^\d{5}$", error="school code is not 5 digits"),
                nullable=False),
            "grade": pa.Column("Int64", pa.Check.in_range(1, 9, error="grade not in 1-9"),
                               nullable=False),
            "enrolled_from": pa.Column(DATE, nullable=False),
            "enrolled_to": pa.Column(DATE, nullable=True),
        },
        checks=pa.Check(
            lambda df: df["enrolled_to"].isna() | (df["enrolled_to"] >= df["enrolled_from"]),
            element_wise=False, error="enrolment ends before it starts"),
        strict=False,
        name="students",
    )


def attendance_schema(start: date, end: date, max_lessons: float) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "local_id": LOCAL_ID,
            "period_start": pa.Column(DATE, nullable=False),
            "period_end": _in_window("period_end", start, end),
            "scheduled_lessons": pa.Column(
                float, pa.Check.in_range(0, max_lessons,
                                         error=f"scheduled lessons not in 0-{max_lessons:g}"),
                nullable=False),
        },
        strict=False,
        name="attendance",
    )


def marks_schema(start: date, end: date, codes: Iterable[str]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "local_id": LOCAL_ID,
            "date": _in_window("date", start, end),
            "lesson": pa.Column(
                "Int64", pa.Check.in_range(1, 12, error="lesson number not in 1-12"),
                nullable=False),
            "local_code": pa.Column(str, pa.Check.isin(sorted(codes), error="unmapped code"),
                                    nullable=False),
            "modified": pa.Column(DATE, nullable=False),
        },
        strict=False,
        name="marks",
    )


def absences_schema(start: date, end: date, codes: Iterable[str],
                    max_lessons: float) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "local_id": LOCAL_ID,
            "period_start": pa.Column(DATE, nullable=False),
            "period_end": _in_window("period_end", start, end),
            "local_code": pa.Column(str, pa.Check.isin(sorted(codes), error="unmapped code"),
                                    nullable=False),
            "lessons": pa.Column(
                float, pa.Check.in_range(0, max_lessons,
                                         error=f"lessons not in 0-{max_lessons:g}"),
                nullable=False),
        },
        strict=False,
        name="absences",
    )


def interventions_schema(start: date, end: date, codes: Iterable[str]) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "local_id": LOCAL_ID,
            "intervention_date": _in_window("intervention_date", start, end),
            "local_code": pa.Column(str, pa.Check.isin(sorted(codes), error="unmapped code"),
                                    nullable=False),
            "role": pa.Column(str, nullable=True),
        },
        strict=False,
        name="interventions",
    )
