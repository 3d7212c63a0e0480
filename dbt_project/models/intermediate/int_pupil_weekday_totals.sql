-- A pupil's lessons per place, school year, term and ISO weekday, Monday (1) to Friday (5),
-- on the records that cover one day: the rows absence_by_weekday rolls up to every level
-- (DESIGN §7.2 patterns). Weekly records (Monday-Sunday, weekly_totals_xlsx) cannot be
-- placed on a weekday and are left out, as are one-day records on a Saturday or Sunday. A
-- record counts in its own place (the enrolment covering its date) and term.
--
-- A table of its own (it was a CTE of the mart, which so read every pupil record of the
-- country every night: 20 s of a typical night at scale 1). Incremental on DuckDB by pupil
-- and school year (macros/pupil_changes.sql): a build writes again the school years of the
-- pupils whose records changed, whole (a term's weekday needs all of the term's days).
-- Pupil-level and restricted.

{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_pupils(this, ref('int_pupil_periods')) }}",
    post_hook="{{ remember_pupil_changes_seen(this, ref('int_pupil_periods')) }}",
) }}

with

-- Every record on a first build; the changed pupils' school years after it.
pupil_periods as (

    {{ changed_pupil_periods(this, ref('int_pupil_periods')) }}

),

one_day_records as (

    select
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        {{ iso_weekday('period_end') }} as weekday,
        scheduled_lessons,
        absent_lessons

    from pupil_periods

    where period_start = period_end

),

pupil_weekdays as (

    select
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        weekday,
        sum(scheduled_lessons) as scheduled_lessons,
        sum(absent_lessons) as absent_lessons

    from one_day_records

    where weekday between 1 and 5

    group by
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        weekday

)

select * from pupil_weekdays
