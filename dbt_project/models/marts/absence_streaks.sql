-- Streaks of full-day absence (DESIGN §7.2 patterns), per level, school year and term. A
-- full-day absence is a school day on which the pupil missed every scheduled lesson; a
-- school day is a day with scheduled lessons for that pupil (a weekend, a holiday or a
-- record of 0 lessons is none, so it neither breaks nor extends a streak); a streak is a
-- run of consecutive school days of full-day absence. Only records covering one day can
-- say so: weekly records are left out. A streak counts in the term, school year and place
-- of its first day (term `all` = the school year); `students` counts the pupils with school
-- days in the place and term.
--
-- The pupils' events (school days per place and term, placed streaks) are
-- int_pupil_streak_events; this mart counts them.

with

events as (

    select * from {{ ref('int_pupil_streak_events') }}

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
