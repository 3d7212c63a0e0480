-- Streaks of full-day absence (DESIGN §7.2 patterns), per level, school year and term. A
-- full-day absence is a school day on which the pupil missed every scheduled lesson; a
-- school day is a day with scheduled lessons for that pupil (a weekend, a holiday or a
-- record of 0 lessons is none, so it neither breaks nor extends a streak); a streak is a
-- run of consecutive school days of full-day absence. Only records covering one day can
-- say so: weekly records are left out. A streak counts in the term, school year and place
-- of its first day (term `all` = the school year); `students` counts the pupils with school
-- days in the place and term.
--
-- Gaps and islands, no calendar: number each pupil's school days in date order; along a run
-- of full-day absences the number and the run's own row number rise together, so their
-- difference names the run. Two window passes: all school days once, then the few
-- full-day absences.

with

pupil_periods as (

    select * from {{ ref('int_pupil_periods') }}

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

    select distinct
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term

    from school_day_records

),

events as (

    select
        'pupil' as event,
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        cast(0 as {{ dbt.type_bigint() }}) as school_days

    from pupil_terms

    union all

    select
        'streak' as event,
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        cast(school_days as {{ dbt.type_bigint() }}) as school_days

    from placed_streaks

    where place_rank = 1

),

{%- set aggregates %}
    count(distinct case when event = 'pupil' then student_key end) as students,
    count(distinct case when event = 'streak' and school_days >= 3 then student_key end)
        as students_streak_3_or_more,
    count(distinct case when event = 'streak' and school_days >= 10 then student_key end)
        as students_streak_10_or_more
{%- endset %}

-- Every level, each term and `all` (macro rollup).
level_totals as (

    {{ rollup('events', ['school_year'], aggregates, all_of='term') }}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.term,
        cast(level_totals.students as {{ dbt.type_bigint() }}) as students,
        cast(level_totals.students_streak_3_or_more as {{ dbt.type_bigint() }})
            as students_streak_3_or_more,
        cast(level_totals.students_streak_10_or_more as {{ dbt.type_bigint() }})
            as students_streak_10_or_more,
        false as suppressed

    from level_totals

    {{ place_joins('level_totals') }}

)

select * from final
