-- The pupil-level half of absence_streaks (DESIGN §7.2 patterns): one 'pupil' event per
-- pupil, place and term with school days, and one 'streak' event per run of consecutive
-- school days of full-day absence, placed where its first day's record is (see
-- absence_streaks). A table of its own so that a night recomputes the streaks of the pupils
-- whose records changed only; the mart counts these events. Pupil-level, restricted.
--
-- Gaps and islands, no calendar: number each pupil's school days in date order; along a run
-- of full-day absences the number and the run's own row number rise together, so their
-- difference names the run. Two window passes: all school days once, then the few
-- full-day absences. Each event has a first_day: a streak's first day, a `pupil` event's
-- first school day in its place and term.

{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_streak_events(this, ref('int_pupil_periods')) }}",
    post_hook=[
        "{{ drop_rebuild_from(this) }}",
        "{{ remember_pupil_changes_seen(this, ref('int_pupil_periods')) }}",
    ],
) }}

{%- set mode = pupil_change_mode(this, ref('int_pupil_periods')) %}

with

-- Incremental on DuckDB: a build writes the events of the pupils whose records changed
-- in the last build of int_pupil_periods, from the day after the last school day before
-- the change on which they attended a lesson (rebuild_from; null: every event), any
-- school year (a streak runs on across the summer): macros/pupil_changes.sql, macro
-- delete_changed_streak_events.
pupil_periods as (

    {{ streak_records(this, ref('int_pupil_periods')) }}

),

school_day_records as (

    select * from pupil_periods

    where period_start = period_end
        and scheduled_lessons > 0

),

-- One row per pupil and school day (a pupil of two municipalities on one day: both records).
school_days as (

    select
        student_key,
        period_end,
        sum(scheduled_lessons) as scheduled_lessons,
        sum(absent_lessons) as absent_lessons

    from school_day_records

    group by
        student_key,
        period_end

),

numbered as (

    select
        student_key,
        period_end,
        absent_lessons >= scheduled_lessons as full_day,
        row_number() over (partition by student_key order by period_end) as day_number

    from school_days

),

full_days as (

    select
        student_key,
        period_end,
        day_number - row_number() over (partition by student_key order by period_end)
            as streak_number

    from numbered

    where full_day

),

streaks as (

    select
        student_key,
        streak_number,
        min(period_end) as first_day,
        count(*) as school_days

    from full_days

    group by
        student_key,
        streak_number

),

-- The place of a streak is that of its first day's record (the highest municipality code
-- when the pupil had records in two municipalities that day, as in int_pupil_ytd_series).
placed_streaks as (

    select
        streaks.student_key,
        streaks.first_day,
        streaks.school_days,
        school_day_records.region_code,
        school_day_records.municipality_code,
        school_day_records.school_code,
        school_day_records.school_year,
        school_day_records.term,
        row_number() over (
            partition by streaks.student_key, streaks.first_day
            order by school_day_records.municipality_code desc
        ) as place_rank

    from streaks

    inner join school_day_records
        on streaks.student_key = school_day_records.student_key
        and streaks.first_day = school_day_records.period_end

),

pupil_terms as (

    select
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        min(period_end) as first_day

    from school_day_records

    group by
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term

),
{%- if mode == 'changed' %}

-- A place and term whose `pupil` event the build kept (a school day before rebuild_from)
-- has its first day there: none again.
kept_pupil_events as (

    {{ kept_pupil_events(this) }}

),
{%- endif %}

events as (

    select
        'pupil' as event,
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        first_day,
        cast(0 as {{ dbt.type_bigint() }}) as school_days

    from pupil_terms
    {%- if mode == 'changed' %}

    where not exists (
        select 1
        from kept_pupil_events as kept
        where kept.student_key = pupil_terms.student_key
            and kept.region_code is not distinct from pupil_terms.region_code
            and kept.municipality_code is not distinct from pupil_terms.municipality_code
            and kept.school_code is not distinct from pupil_terms.school_code
            and kept.school_year is not distinct from pupil_terms.school_year
            and kept.term is not distinct from pupil_terms.term
    )
    {%- endif %}

    union all

    select
        'streak' as event,
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        first_day,
        cast(school_days as {{ dbt.type_bigint() }}) as school_days

    from placed_streaks

    where place_rank = 1

)

select * from events
