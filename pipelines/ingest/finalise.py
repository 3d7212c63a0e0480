"""Finalising one extract in DuckDB: from staged rows to the canonical tables (DESIGN §3, §5).

The staged Parquet holds every row that passed its own checks; here the checks that need the
whole extract run: identical repeated rows count once, the latest marking wins, a pupil is
enrolled in one place at a time, every record needs a scheduled-lessons row inside an
enrolment, and no record can claim more absent lessons than were scheduled. Whatever fails is
rejected row by row with a reason from the fixed phrases below, so dbt's tests never meet it.

No value reaches this SQL as text: the staged files are registered as relations, the codes
that count as absence as a table, and the constant columns are added as expressions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.tables import CANONICAL_TABLES, STAGED

# The rules of this step, as they appear in rejection reasons.
ENROLLED_TWICE = "pupil is enrolled twice on one day (overlaps an earlier enrolment row)"
CONFLICTING_DAY = "pupil and date appear more than once with different values"
NOT_ENROLLED = "no enrolment of the pupil covers this date"
NOT_SCHEDULED_DAY = "no scheduled lessons for this pupil and date"
NOT_SCHEDULED_PERIOD = "no scheduled lessons for this pupil and period"
CONFLICTING_CODE = "pupil, period and code appear more than once with different values"
MORE_ABSENT_THAN_SCHEDULED = "more absent lessons than scheduled lessons for this pupil and period"


@dataclass
class Finalised:
    rows_loaded: dict[str, int]
    rejects: list[tuple[str, int, str]]  # (file, row, reason)
    duplicates: dict[str, int]  # file -> identical repeated rows counted once


def finalise(staged: dict[str, Path], absence_codes: frozenset[str], outputs: dict[str, Path],
             constants: dict[str, str], temp_dir: Path) -> Finalised:
    """Write the canonical tables of one extract to `outputs` (table -> path)."""
    con = duckdb.connect(config={"temp_directory": str(temp_dir), "memory_limit": "1GB",
                                 "preserve_insertion_order": False})
    try:
        for kind, table in STAGED.items():
            path = staged.get(kind)
            if path is not None and path.exists():
                con.read_parquet(str(path)).to_view(f"staged_{kind}")
            else:
                con.register(f"staged_{kind}", table.schema().empty_table())
        con.register("absence_codes", pa.table({"local_code": sorted(absence_codes)},
                                               schema=pa.schema([("local_code", pa.string())])))
        con.execute(_FINALISE_SQL)
        rejects = [(file, int(row), reason) for file, row, reason in con.execute(
            "select _file, _row, reason from rejected_final order by _file, _row").fetchall()]
        duplicates = dict(con.execute(
            "select _file, sum(repeats)::bigint from repeated_rows group by _file "
            "having sum(repeats) > 0 order by _file").fetchall())
        loaded = {}
        constant_columns = [duckdb.ConstantExpression(value).alias(name)
                            for name, value in constants.items()]
        for table in CANONICAL_TABLES:
            relation = con.table(f"final_{table}").select(*constant_columns,
                                                          duckdb.StarExpression())
            relation.write_parquet(str(outputs[table]))
            loaded[table] = con.execute(f"select count(*) from final_{table}").fetchall()[0][0]
    finally:
        con.close()
    return Finalised(rows_loaded=loaded, rejects=rejects, duplicates=duplicates)


_FINALISE_SQL = f"""
-- Identical repeated rows count once (DESIGN §3); how many were dropped is reported per file.
create temp table students_distinct as
select student_key, school_code, grade, enrolled_from, enrolled_to, _file,
       min(_row) as _row, count(*) - 1 as repeats
from staged_students group by all;

create temp table attendance_distinct as
select student_key, period_start, period_end, scheduled_lessons, _file,
       min(_row) as _row, count(*) - 1 as repeats
from staged_attendance group by all;

create temp table absences_distinct as
select student_key, period_start, period_end, local_code, lessons, _file,
       min(_row) as _row, count(*) - 1 as repeats
from staged_absences group by all;

create temp table marks_distinct as
select student_key, date, lesson, local_code, modified, _file,
       max(_row) as _row, count(*) - 1 as repeats
from staged_marks group by all;

create temp table interventions_distinct as
select student_key, intervention_date, local_code, role, _file,
       min(_row) as _row, count(*) - 1 as repeats
from staged_interventions group by all;

create temp table repeated_rows as
select _file, repeats from students_distinct where repeats > 0
union all select _file, repeats from attendance_distinct where repeats > 0
union all select _file, repeats from absences_distinct where repeats > 0
union all select _file, repeats from marks_distinct where repeats > 0
union all select _file, repeats from interventions_distinct where repeats > 0;

-- One enrolment at a time: a row that starts on or before the end of an earlier-starting row
-- of the same pupil is rejected (which one is right cannot be known; the first one stays).
create temp table students_checked as
select *,
       max(coalesce(enrolled_to, timestamp '9999-12-31')) over (
           partition by student_key order by enrolled_from, _row
           rows between unbounded preceding and 1 preceding) >= enrolled_from as _overlaps
from students_distinct;

create temp table final_students as
select student_key, school_code, cast(grade as integer) as grade,
       cast(enrolled_from as date) as enrolled_from, cast(enrolled_to as date) as enrolled_to
from students_checked where not coalesce(_overlaps, false);

-- Repeated markings: the latest `muokattu` wins (DESIGN §4.1), ties to the later row.
create temp table marks_latest as
select * from (
    select *, row_number() over (
        partition by student_key, date, lesson order by modified desc, _row desc) as _rank
    from marks_distinct)
where _rank = 1;

create temp table attendance_ranked as
select a.*,
       row_number() over (
           partition by student_key, period_start, period_end order by _row) as _dup,
       exists (
           select 1 from final_students s
           where s.student_key = a.student_key
             and s.enrolled_from <= cast(a.period_end as date)
             and (s.enrolled_to is null
                  or s.enrolled_to >= cast(a.period_start as date))) as _enrolled
from attendance_distinct a;

create temp table absences_ranked as
select *,
       row_number() over (
           partition by student_key, period_start, period_end, local_code order by _row) as _dup
from absences_distinct;

-- Absent lessons of a pupil and period, from the codes that count as absence.
create temp table absent_totals as
select student_key, period_start, period_end, sum(lessons) as absent_lessons
from (
    select student_key, date as period_start, date as period_end, 1.0 as lessons
    from marks_latest where local_code in (select local_code from absence_codes)
    union all
    select student_key, period_start, period_end, lessons
    from absences_ranked where _dup = 1 and local_code in (select local_code from absence_codes))
group by all;

create temp table impossible_periods as
select a.student_key, a.period_start, a.period_end
from attendance_ranked a
join absent_totals t using (student_key, period_start, period_end)
where a._dup = 1 and t.absent_lessons > a.scheduled_lessons;

create temp table final_attendance as
select student_key, cast(period_start as date) as period_start,
       cast(period_end as date) as period_end,
       cast(scheduled_lessons as decimal(18, 3)) as scheduled_lessons
from attendance_ranked a
where _dup = 1 and _enrolled
  and not exists (select 1 from impossible_periods i
                  where i.student_key = a.student_key and i.period_start = a.period_start
                    and i.period_end = a.period_end);

create temp table marks_checked as
select m.*,
       a.student_key is not null as _scheduled,
       i.student_key is not null as _impossible
from marks_latest m
left join final_attendance a
  on a.student_key = m.student_key and a.period_start = cast(m.date as date)
 and a.period_end = cast(m.date as date)
left join impossible_periods i
  on i.student_key = m.student_key and i.period_start = m.date and i.period_end = m.date;

create temp table absences_checked as
select b.*,
       a.student_key is not null as _scheduled,
       i.student_key is not null as _impossible
from absences_ranked b
left join final_attendance a
  on a.student_key = b.student_key and a.period_start = cast(b.period_start as date)
 and a.period_end = cast(b.period_end as date)
left join impossible_periods i
  on i.student_key = b.student_key and i.period_start = b.period_start
 and i.period_end = b.period_end;

create temp table final_absences as
select student_key, cast(date as date) as period_start, cast(date as date) as period_end,
       local_code, cast(count(*) as decimal(18, 3)) as lessons
from marks_checked where _scheduled
group by all
union all
select student_key, cast(period_start as date), cast(period_end as date), local_code,
       cast(lessons as decimal(18, 3)) as lessons
from absences_checked where _scheduled and _dup = 1 and lessons > 0;

create temp table final_interventions as
select student_key, cast(intervention_date as date) as intervention_date, local_code, role
from interventions_distinct;

create temp table rejected_final as
select _file, _row, '{ENROLLED_TWICE}' as reason from students_checked where _overlaps
union all
select _file, _row, '{CONFLICTING_DAY}' from attendance_ranked where _dup > 1
union all
select _file, _row, '{NOT_ENROLLED}' from attendance_ranked where _dup = 1 and not _enrolled
union all
select a._file, a._row, '{MORE_ABSENT_THAN_SCHEDULED}'
from attendance_ranked a join impossible_periods using (student_key, period_start, period_end)
where a._dup = 1 and a._enrolled
union all
select _file, _row, case when _impossible then '{MORE_ABSENT_THAN_SCHEDULED}'
                         else '{NOT_SCHEDULED_DAY}' end
from marks_checked where not _scheduled
union all
select _file, _row, case when _impossible then '{MORE_ABSENT_THAN_SCHEDULED}'
                         else '{NOT_SCHEDULED_PERIOD}' end
from absences_checked where not _scheduled and _dup = 1
union all
select _file, _row, '{CONFLICTING_CODE}' from absences_checked where _dup > 1;
"""
