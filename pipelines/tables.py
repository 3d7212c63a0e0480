"""Every table's shape, declared once, as data (the way catalyst-cooperative/pudl declares its
resources): the canonical tables and the extract ledger ingest writes, the rejected rows, the
rows finalising stages, and the published tables.

Derived from here: the Arrow schemas ingest writes (writer.CANONICAL_SCHEMAS, ledger
LEDGER_SCHEMA, the rejected-rows schema, finalise.STAGED), the list of published tables
(publishing, the Dagster assets of the marts, the quality suites), and each published table's
keys and measures (suppression). `tests/test_tables.py` holds dbt's side against it: the
source columns of `dbt_project/models/staging/__sources.yml` and the columns and data types
of the contracts in `dbt_project/models/marts/_marts.yml` must be exactly these, so a change
made in one place only fails CI.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
LESSONS = pa.decimal128(18, 3)


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType | str  # Arrow type (files we write) or dbt data_type (published marts)
    role: str = ""  # published tables: key, label, count, share, rate, days, change, flag


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.type) for c in self.columns])

    def with_role(self, *roles: str) -> list[str]:
        return [c.name for c in self.columns if c.role in roles]


def _table(name: str, *columns: tuple) -> Table:
    return Table(name, tuple(Column(*c) for c in columns))


# -- written by ingest ----------------------------------------------------------------------

_COMMON = (("municipality_code", pa.string()), ("profile", pa.string()),
           ("extract_id", pa.string()))
CANONICAL: dict[str, Table] = {t.name: t for t in (
    _table("students", *_COMMON, ("student_key", pa.string()), ("school_code", pa.string()),
           ("grade", pa.int32()), ("enrolled_from", pa.date32()), ("enrolled_to", pa.date32())),
    _table("attendance", *_COMMON, ("student_key", pa.string()), ("period_start", pa.date32()),
           ("period_end", pa.date32()), ("scheduled_lessons", LESSONS)),
    _table("absences", *_COMMON, ("student_key", pa.string()), ("period_start", pa.date32()),
           ("period_end", pa.date32()), ("local_code", pa.string()), ("lessons", LESSONS)),
    _table("interventions", *_COMMON, ("student_key", pa.string()),
           ("intervention_date", pa.date32()), ("local_code", pa.string()),
           ("role", pa.string())),
)}
CANONICAL_TABLES = tuple(CANONICAL)

# One row per drop seen: the commit point of a load (pipelines/ingest/ledger.py).
LEDGER = _table(
    "extracts",
    ("municipality_code", pa.string()), ("extract_id", pa.string()), ("load_id", pa.string()),
    ("profile", pa.string()), ("extracted_at", TS), ("coverage_start", pa.date32()),
    ("coverage_end", pa.date32()), ("status", pa.string()), ("reason", pa.string()),
    ("manifest_sha256", pa.string()), ("file_sha256", pa.string()), ("rows_read", pa.int64()),
    ("rows_loaded", pa.int64()), ("rows_rejected", pa.int64()), ("schema_drift", pa.string()),
    ("top_reasons", pa.string()), ("drop_path", pa.string()), ("started_at", TS),
    ("finished_at", TS), ("rows_duplicate", pa.int64()), ("duplicates", pa.string()),
)

# The state of a remote source (pipelines/pull/fetch.py), one file per municipality pulled
# from: `data_freshness` turns an unreachable source into `late` with the reason.
PULL_STATUS = _table("pull_status", ("municipality_code", pa.string()),
                     ("last_listing_at", TS), ("last_error", pa.string()))

# A rejected row as finalising reports it, and as quarantine stores it with its drop.
REJECTS = _table("rejects", ("file", pa.string()), ("row", pa.int64()),
                 ("column", pa.string()), ("reason", pa.string()))
REJECTED_ROWS = _table("rejected_rows", ("municipality_code", pa.string()),
                       ("extract_id", pa.string()), ("load_id", pa.string()),
                       *((c.name, c.type) for c in REJECTS.columns))

# The rows a profile reader stages for finalising (pipelines/ingest/finalise.py), before the
# checks that need the whole extract; `_row`/`_file` name the source row of a rejection.
_SOURCE = (("_row", pa.int64()), ("_file", pa.string()))
_DAY = pa.timestamp("us")
STAGED: dict[str, Table] = {t.name: t for t in (
    _table("students", ("student_key", pa.string()), ("school_code", pa.string()),
           ("grade", pa.int64()), ("enrolled_from", _DAY), ("enrolled_to", _DAY), *_SOURCE),
    _table("attendance", ("student_key", pa.string()), ("period_start", _DAY),
           ("period_end", _DAY), ("scheduled_lessons", pa.float64()), *_SOURCE),
    _table("absences", ("student_key", pa.string()), ("period_start", _DAY),
           ("period_end", _DAY), ("local_code", pa.string()), ("lessons", pa.float64()),
           *_SOURCE),
    _table("marks", ("student_key", pa.string()), ("date", _DAY), ("lesson", pa.int64()),
           ("local_code", pa.string()), ("modified", _DAY), *_SOURCE),
    _table("interventions", ("student_key", pa.string()), ("intervention_date", _DAY),
           ("local_code", pa.string()), ("role", pa.string()), *_SOURCE),
)}

# -- published (DESIGN §8) --------------------------------------------------------------------
# dbt data types as the contracts of _marts.yml enforce them; roles tell suppression and the
# quality suites what each column is.

_UNIT = (("level", "string", "key"), ("region_code", "string", "key"),
         ("region_name", "string", "label"), ("municipality_code", "string", "key"),
         ("municipality_name", "string", "label"), ("school_code", "string", "key"),
         ("school_year", "string", "key"))
_THROUGH = (("data_through", "date", "label"), ("provisional", "boolean", "label"))
PUBLISHED: dict[str, Table] = {t.name: t for t in (
    _table("absence_rates", *_UNIT, ("period_type", "string", "key"),
           ("period_start", "date", "key"), ("period_end", "date", "key"),
           ("grade_band", "string", "key"), ("students", "bigint", "count"),
           ("scheduled_lessons", "double", "count"), ("absent_lessons", "double", "count"),
           ("absence_rate", "double", "share"), ("illness_rate", "double", "share"),
           ("authorised_rate", "double", "share"), ("unauthorised_rate", "double", "share"),
           ("unexplained_rate", "double", "share"), ("late_count", "bigint", "count"),
           *_THROUGH, ("suppressed", "boolean", "flag")),
    _table("attendance_tiers", *_UNIT, ("as_of_date", "date", "key"),
           ("grade_band", "string", "key"), ("students_with_tier", "bigint", "count"),
           ("universal_students", "bigint", "count"), ("targeted_students", "bigint", "count"),
           ("intensive_students", "bigint", "count"), ("targeted_share", "double", "share"),
           ("intensive_share", "double", "share"),
           ("students_10pct_or_more", "bigint", "count"),
           ("share_10pct_or_more", "double", "share"), *_THROUGH,
           ("suppressed", "boolean", "flag")),
    _table("intervention_metrics", *_UNIT, ("term", "string", "key"),
           ("crossed_targeted", "bigint", "count"), ("responded_targeted", "bigint", "count"),
           ("timely_response_rate", "double", "share"),
           ("median_response_lag_days", "double", "days"),
           ("crossed_intensive", "bigint", "count"), ("responded_intensive", "bigint", "count"),
           ("intensive_response_rate", "double", "share"),
           ("mean_rate_change_after_intervention", "double", "change"),
           ("students_in_change", "bigint", "count"), ("suppressed", "boolean", "flag")),
    _table("interventions_by_type", *_UNIT, ("term", "string", "key"),
           ("intervention_type", "string", "key"),
           ("intervention_name_fi", "string", "label"), ("tier", "string", "label"),
           ("dimension", "string", "label"), ("interventions", "bigint", "count"),
           ("students", "bigint", "count"), ("suppressed", "boolean", "flag")),
    _table("interventions_by_dimension", *_UNIT, ("term", "string", "key"),
           ("dimension", "string", "key"), ("interventions", "bigint", "count"),
           ("students", "bigint", "count"), ("suppressed", "boolean", "flag")),
    # Planning and evaluation (DESIGN §7.2).
    _table("support_caseload", *_UNIT, ("as_of_date", "date", "key"),
           ("grade_band", "string", "key"), ("students_with_tier", "bigint", "count"),
           ("awaiting_targeted", "bigint", "count"), ("overdue_targeted", "bigint", "count"),
           ("awaiting_intensive", "bigint", "count"), ("overdue_intensive", "bigint", "count"),
           ("suppressed", "boolean", "flag")),
    _table("local_threshold_crossings", *_UNIT, ("term", "string", "key"),
           ("threshold_lessons", "double", "key"), ("label", "string", "label"),
           ("crossed", "bigint", "count"), ("responded", "bigint", "count"),
           ("timely_response_rate", "double", "share"),
           ("median_response_lag_days", "double", "days"), ("suppressed", "boolean", "flag")),
    _table("absence_by_weekday", *_UNIT, ("term", "string", "key"),
           ("weekday", "integer", "key"), ("students", "bigint", "count"),
           ("scheduled_lessons", "double", "count"), ("absent_lessons", "double", "count"),
           ("absence_rate", "double", "share"), ("suppressed", "boolean", "flag")),
    _table("absence_streaks", *_UNIT, ("term", "string", "key"),
           ("students", "bigint", "count"), ("students_streak_3_or_more", "bigint", "count"),
           ("students_streak_10_or_more", "bigint", "count"), ("suppressed", "boolean", "flag")),
    _table("intervention_effect", *_UNIT, ("intervention_type", "string", "key"),
           ("intervention_name_fi", "string", "label"),
           ("students_in_change", "bigint", "count"), ("mean_rate_before", "double", "share"),
           ("mean_rate_after", "double", "share"), ("mean_change", "double", "change"),
           ("comparison_students", "bigint", "count"),
           ("comparison_mean_change", "double", "change"), ("difference", "double", "change"),
           ("suppressed", "boolean", "flag")),
    _table("data_freshness", ("municipality_code", "string", "key"),
           ("municipality_name", "string", "label"), ("region_code", "string", "label"),
           ("region_name", "string", "label"), ("last_extract_id", "string", "label"),
           ("last_extracted_at", "timestamp with time zone", "label"),
           ("last_loaded_at", "timestamp with time zone", "label"),
           ("coverage_end", "date", "label"), ("status", "string", "label"),
           ("last_error", "string", "label"), ("rejected_rows", "bigint", "count")),
)}
PUBLISHED_TABLES = tuple(PUBLISHED)
MEASURE_ROLES = ("count", "share", "rate", "days", "change")
