-- Absence by weekday (DESIGN §7.2 patterns): per level, school year, term and ISO weekday
-- Monday (1) to Friday (5), the lessons scheduled and missed on records covering one day.
-- Weekly records (Monday-Sunday, weekly_totals_xlsx) cannot be placed on a weekday and are
-- left out, as are one-day records on a Saturday or Sunday. A record counts in its own place
-- (the enrolment covering its date) and term; term `all` is the school year. The pupils'
-- weekday totals are int_pupil_weekday_totals, built by changed pupil on DuckDB.

with

-- A pupil's lessons per place, term and weekday (int_pupil_weekday_totals: one-day records
-- on Monday-Friday only).
pupil_weekdays as (

    select * from {{ ref('int_pupil_weekday_totals') }}

),

{%- set aggregates %}
    count(distinct case when scheduled_lessons > 0 then student_key end) as students,
    sum(scheduled_lessons) as scheduled_lessons,
    sum(absent_lessons) as absent_lessons
{%- endset %}

-- Every level, each term and `all` (macro rollup).
level_totals as (

    {{ rollup('pupil_weekdays', ['school_year', 'weekday'], aggregates, all_of='term') }}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.term,
        cast(level_totals.weekday as integer) as weekday,
        cast(level_totals.students as {{ dbt.type_bigint() }}) as students,
        cast(level_totals.scheduled_lessons as double) as scheduled_lessons,
        cast(level_totals.absent_lessons as double) as absent_lessons,
        {{ safe_ratio('level_totals.absent_lessons', 'level_totals.scheduled_lessons') }}
            as absence_rate,
        false as suppressed

    from level_totals

    {{ place_joins('level_totals') }}

)

select * from final
