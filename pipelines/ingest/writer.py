"""The shared half of ingest: identity-code guard, Pandera, pseudonyms, staging and finalising.

Profile readers only turn their format into typed frames; everything that must be the same for
every source (DESIGN §4.4, §5) happens here, once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.ingest.errors import DropError
from pipelines.ingest.identity_codes import first_with_identity_code
from pipelines.ingest.landing import Manifest
from pipelines.ingest.pseudonym import Pseudonymiser
from pipelines.ingest.readers import RawSource

COMMON = [("municipality_code", pa.string()), ("profile", pa.string()), ("extract_id", pa.string())]
LESSONS = pa.decimal128(18, 3)
CANONICAL_SCHEMAS: dict[str, pa.Schema] = {
    "students": pa.schema([*COMMON, ("student_key", pa.string()), ("school_code", pa.string()),
                           ("grade", pa.int32()), ("enrolled_from", pa.date32()),
                           ("enrolled_to", pa.date32())]),
    "attendance": pa.schema([*COMMON, ("student_key", pa.string()), ("period_start", pa.date32()),
                             ("period_end", pa.date32()), ("scheduled_lessons", LESSONS)]),
    "absences": pa.schema([*COMMON, ("student_key", pa.string()), ("period_start", pa.date32()),
                           ("period_end", pa.date32()), ("local_code", pa.string()),
                           ("lessons", LESSONS)]),
    "interventions": pa.schema([*COMMON, ("student_key", pa.string()),
                                ("intervention_date", pa.date32()), ("local_code", pa.string()),
                                ("role", pa.string())]),
}
# Vectorised pre-filter for the identity-code guard: every value that
# identity_codes.contains_identity_code accepts matches this (it lacks only the look-arounds).
# Arrow's regular expressions are RE2, whose \d is ASCII only; Python's \d (the checker's) is any
# Unicode digit, hence \p{Nd}.
_CODE_SHAPE = r"\p{Nd}{6}[-+A-FU-Y]\p{Nd}{3}[0-9A-Y]"
# Values of these columns never appear in a rejection reason.
_IDENTIFYING = {"local_id", "learner_oid", "student_key"}
REJECTS_SCHEMA = pa.schema([("file", pa.string()), ("row", pa.int64()), ("column", pa.string()),
                            ("reason", pa.string())])

# Staged (pre-final) columns per kind; `_file`/`_row` let finalising name the source row.
_STAGED = {
    "students": ["student_key", "school_code", "grade", "enrolled_from", "enrolled_to"],
    "attendance": ["student_key", "period_start", "period_end", "scheduled_lessons"],
    "absences": ["student_key", "period_start", "period_end", "local_code", "lessons"],
    "marks": ["student_key", "date", "lesson", "local_code", "modified"],
    "interventions": ["student_key", "intervention_date", "local_code", "role"],
}


@dataclass
class WriteResult:
    rows_read: int
    rows_rejected: int
    rows_loaded: dict[str, int]
    schema_drift: list[str]
    rejects_path: Path
    canonical_paths: dict[str, Path]
    top_reasons: list[tuple[str, int]]


class ExtractWriter:
    """Collects one extract's typed records into staged Parquet, then finalises canonical files."""

    def __init__(self, work_dir: Path, manifest: Manifest, extract_id: str,
                 pseudonymiser: Pseudonymiser):
        self.work = work_dir
        self.work.mkdir(parents=True, exist_ok=True)
        self.manifest = manifest
        self.extract_id = extract_id
        self.pseudonyms = pseudonymiser
        self.sources: list[RawSource] = []
        self._writers: dict[str, pq.ParquetWriter] = {}

    # -- reading -------------------------------------------------------------------------
    def read(self, source: RawSource) -> Iterator[pd.DataFrame]:
        """Frames of a raw source, each checked for identity codes before anything else."""
        self.sources.append(source)
        for frame in source.frames():
            for column in source.expected:
                values = frame[column]
                text = values[values.notna()].astype("str")
                # Only text holding the code's shape (a superset of what the checker accepts)
                # goes through the per-value check; dates, ids and counts never can.
                text = text[text.str.len() >= 11]
                if len(text):
                    shaped = pc.match_substring_regex(pa.array(text, pa.string()), _CODE_SHAPE)
                    text = text[shaped.to_numpy(zero_copy_only=False)]
                hit = first_with_identity_code(text.tolist())
                if hit is not None:
                    # Name the file and column, never the value (DESIGN §4.4).
                    raise DropError("holds a personal identity code (henkilötunnus); "
                                    "the whole drop is quarantined",
                                    file=source.label, column=column)
            yield frame

    # -- typed records -------------------------------------------------------------------
    def students(self, frame: pd.DataFrame, schema: pandera.DataFrameSchema,
                 source: RawSource) -> None:
        valid = self._validate(frame, schema, source)
        valid = valid.assign(student_key=[
            self.pseudonyms.register(local_id, oid)
            for local_id, oid in zip(valid["local_id"], valid["learner_oid"], strict=True)])
        self._stage("students", valid, source)

    def records(self, kind: str, frame: pd.DataFrame, schema: pandera.DataFrameSchema,
                source: RawSource) -> None:
        """Attendance, absences, marks or interventions keyed by the local pupil id."""
        valid = self._validate(frame, schema, source)
        keys = valid["local_id"].map(self.pseudonyms.mapping)
        unknown = keys.isna()
        for row in valid.loc[unknown, "_row"]:
            source.reject(int(row), None, "pupil id not in the students file")
        self._stage(kind, valid[~unknown].assign(student_key=keys[~unknown]), source)

    def _validate(self, frame: pd.DataFrame, schema: pandera.DataFrameSchema,
                  source: RawSource) -> pd.DataFrame:
        try:
            schema.validate(frame, lazy=True)
            return frame
        except pandera.errors.SchemaErrors as exc:
            failures = exc.failure_cases
        bad_index = set()
        for case in failures.itertuples(index=False):
            index = case.index
            column = case.column if isinstance(case.column, str) else None
            reason = str(case.check)
            if reason == "not_nullable":
                reason = "is empty"
            elif column not in _IDENTIFYING and not pd.isna(case.failure_case):
                reason = f"{reason} ({str(case.failure_case)[:20]!r})"
            if reason.startswith("unmapped code"):
                m = self.manifest
                reason += f" for municipality {m.municipality_code}, profile {m.profile}"
            if pd.isna(index):
                raise DropError(f"{schema.name}: {reason}", file=source.label, column=column)
            bad_index.add(index)
            source.reject(int(frame.at[index, "_row"]), column, reason)
        return frame.drop(index=list(bad_index))

    def _stage(self, kind: str, frame: pd.DataFrame, source: RawSource) -> None:
        table = pa.Table.from_pandas(
            frame[_STAGED[kind] + ["_row"]].assign(_file=source.label), preserve_index=False)
        if kind not in self._writers:
            self._writers[kind] = pq.ParquetWriter(self.work / f"staged_{kind}.parquet",
                                                   table.schema)
        self._writers[kind].write_table(table.cast(self._writers[kind].schema))

    # -- finalising ----------------------------------------------------------------------
    def finish(self) -> WriteResult:
        """Resolve repeated markings, cross-file checks, and write the canonical Parquet."""
        for writer in self._writers.values():
            writer.close()
        con = duckdb.connect()
        tmp = self.work / "duckdb_tmp"
        con.execute(f"set temp_directory = '{tmp}'; set memory_limit = '1GB'; "
                    "set preserve_insertion_order = false")
        for kind, columns in _STAGED.items():
            path = self.work / f"staged_{kind}.parquet"
            if path.exists():
                con.execute(f"create view staged_{kind} as select * from read_parquet('{path}')")
            else:
                cols = ", ".join(f"null::{_duck_type(kind, c)} as {c}" for c in columns)
                con.execute(f"create view staged_{kind} as select {cols}, "
                            "null::bigint as _row, null::varchar as _file where false")
        con.execute(_FINALISE_SQL)
        finalise_rejects = con.execute(
            "select _file, _row, null, reason from rejected_final").fetchall()
        by_file = {s.label: s for s in self.sources}
        for file, row, column, reason in finalise_rejects:
            by_file[file].reject(int(row), column, reason)

        m = self.manifest
        outputs: dict[str, Path] = {}
        loaded: dict[str, int] = {}
        for table in CANONICAL_SCHEMAS:
            out = self.work / f"{table}.parquet"
            con.execute(
                f"copy (select '{m.municipality_code}' as municipality_code, "
                f"'{m.profile}' as profile, '{self.extract_id}' as extract_id, * "
                f"from final_{table}) to '{out}' (format parquet)")
            outputs[table] = out
            loaded[table] = con.execute(f"select count(*) from final_{table}").fetchone()[0]
        con.close()

        rejects_path = self.work / "rejected_rows.parquet"
        rows = [(s.label, r, c, reason) for s in self.sources for r, c, reason in s.rejects]
        pq.write_table(pa.Table.from_pylist(
            [dict(zip(REJECTS_SCHEMA.names, row, strict=True)) for row in rows],
            schema=REJECTS_SCHEMA), rejects_path)
        reason_counts = pd.Series([r[3] for r in rows], dtype="str").value_counts()
        return WriteResult(
            rows_read=sum(s.rows_read for s in self.sources),
            rows_rejected=len({(r[0], r[1]) for r in rows}),
            rows_loaded=loaded,
            schema_drift=sorted({f"{s.label}:{c}" for s in self.sources for c in s.drift}),
            rejects_path=rejects_path,
            canonical_paths=outputs,
            top_reasons=list(reason_counts.head(5).items()),
        )


def _duck_type(kind: str, column: str) -> str:
    if column in ("period_start", "period_end", "enrolled_from", "enrolled_to", "date",
                  "intervention_date"):
        return "date"
    if column in ("scheduled_lessons", "lessons"):
        return "double"
    if column in ("grade", "lesson"):
        return "bigint"
    if column == "modified":
        return "timestamp"
    return "varchar"


# Repeated markings: the latest `muokattu` wins (DESIGN §4.1), ties to the later row.
# Records need an attendance row for the same pupil and period, inside an enrolment.
_FINALISE_SQL = """
create temp table marks_latest as
select * from (
    select *, row_number() over (
        partition by student_key, date, lesson order by modified desc, _row desc) as _rank
    from staged_marks)
where _rank = 1;

create temp table attendance_ranked as
select a.*,
       row_number() over (
           partition by student_key, period_start, period_end order by _row) as _dup,
       exists (
           select 1 from staged_students s
           where s.student_key = a.student_key
             and s.enrolled_from <= a.period_end
             and (s.enrolled_to is null or s.enrolled_to >= a.period_start)) as _enrolled
from staged_attendance a;

create temp table final_attendance as
select student_key, cast(period_start as date) as period_start,
       cast(period_end as date) as period_end,
       cast(scheduled_lessons as decimal(18, 3)) as scheduled_lessons
from attendance_ranked where _dup = 1 and _enrolled;

create temp table marks_checked as
select m.*, a.student_key is not null as _scheduled
from marks_latest m
left join final_attendance a
  on a.student_key = m.student_key and a.period_start = m.date and a.period_end = m.date;

create temp table absences_checked as
select b.*,
       a.student_key is not null as _scheduled,
       row_number() over (
           partition by b.student_key, b.period_start, b.period_end, b.local_code
           order by b._row) as _dup
from staged_absences b
left join final_attendance a
  on a.student_key = b.student_key and a.period_start = b.period_start
 and a.period_end = b.period_end;

create temp table final_absences as
select student_key, cast(date as date) as period_start, cast(date as date) as period_end,
       local_code, cast(count(*) as decimal(18, 3)) as lessons
from marks_checked where _scheduled
group by all
union all
select student_key, cast(period_start as date), cast(period_end as date), local_code,
       cast(lessons as decimal(18, 3)) as lessons
from absences_checked where _scheduled and _dup = 1 and lessons > 0;

create temp table final_students as
select distinct student_key, school_code, cast(grade as integer) as grade,
       cast(enrolled_from as date) as enrolled_from, cast(enrolled_to as date) as enrolled_to
from staged_students;

create temp table final_interventions as
select student_key, cast(intervention_date as date) as intervention_date, local_code, role
from staged_interventions;

create temp table rejected_final as
select _file, _row, 'pupil and date appear more than once' as reason
from attendance_ranked where _dup > 1
union all
select _file, _row, 'no enrolment of the pupil covers this date'
from attendance_ranked where _dup = 1 and not _enrolled
union all
select _file, _row, 'no scheduled lessons for this pupil and date' from marks_checked
where not _scheduled
union all
select _file, _row, 'no scheduled lessons for this pupil and period' from absences_checked
where not _scheduled
union all
select _file, _row, 'pupil, period and code appear more than once' from absences_checked
where _scheduled and _dup > 1;
"""
