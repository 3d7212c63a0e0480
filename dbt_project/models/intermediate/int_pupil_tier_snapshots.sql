-- The tier of every pupil on every Sunday of the school year up to the latest data
-- (DESIGN §7/§8 attendance_tiers). A pupil is in a Sunday's snapshot when they have a
-- record of the school year counting on or before that Sunday and an enrolment not ended
-- before the Monday of that week; their school and grade are those of their latest record
-- on or before the Sunday. Pupils x Sundays (about 40 a year), never pupils x days.

with

series as (

    select * from {{ ref('int_pupil_ytd_series') }}

),

enrolments as (

    select * from {{ ref('int_enrolments') }}

),

-- The last series point of a pupil in an ISO week is their state on that week's Sunday:
-- the point whose next date (next_period_end, from the series' own sort) is in a later
-- week, or that has none. A filter, no aggregation or join over the whole series.
week_states as (

    select
        student_key,
        school_year,
        {{ week_end('period_end') }} as week_sunday,
        municipality_code,
        region_code,
        school_code,
        grade,
        grade_band,
        ytd_scheduled_lessons,
        ytd_absent_lessons

    from series

    where next_period_end is null
        or next_period_end > {{ week_end('period_end') }}

),

school_year_bounds as (

    select
        school_year,
        min({{ school_year_start('period_end') }}) as school_year_start,
        max(period_end) as latest_period_end

    from series

    group by school_year

),

sundays_expanded as (

    select
        school_year,
        {{ expand_sundays('school_year_start', 'latest_period_end') }} as as_of_date

    from school_year_bounds

),

sundays as (

    select
        school_year,
        cast(as_of_date as date) as as_of_date

    from sundays_expanded

),

pupil_years as (

    select
        student_key,
        school_year,
        min(week_sunday) as first_sunday

    from week_states

    group by
        student_key,
        school_year

),

pupil_enrolment_ends as (

    select
        student_key,
        max(coalesce(enrolled_to, cast('9999-12-31' as date))) as enrolled_until

    from enrolments

    group by student_key

),

pupil_sundays as (

    select
        pupil_years.student_key,
        pupil_years.school_year,
        sundays.as_of_date

    from pupil_years

    inner join sundays
        on pupil_years.school_year = sundays.school_year
        and sundays.as_of_date >= pupil_years.first_sunday

),

-- Weeks without records carry the previous state forward: number the states, then
-- spread each over the Sundays up to the next one.
numbered as (

    select
        pupil_sundays.student_key,
        pupil_sundays.school_year,
        pupil_sundays.as_of_date,
        week_states.municipality_code,
        week_states.region_code,
        week_states.school_code,
        week_states.grade,
        week_states.grade_band,
        week_states.ytd_scheduled_lessons,
        week_states.ytd_absent_lessons,
        count(week_states.week_sunday) over (
            partition by pupil_sundays.student_key, pupil_sundays.school_year
            order by pupil_sundays.as_of_date
            rows between unbounded preceding and current row
        ) as state_number

    from pupil_sundays

    left join week_states
        on pupil_sundays.student_key = week_states.student_key
        and pupil_sundays.school_year = week_states.school_year
        and pupil_sundays.as_of_date = week_states.week_sunday

),

{%- set carried_columns = [
    'municipality_code', 'region_code', 'school_code', 'grade', 'grade_band',
    'ytd_scheduled_lessons', 'ytd_absent_lessons',
] %}

carried as (

    select
        student_key,
        school_year,
        as_of_date,
        {%- for column in carried_columns %}
        max({{ column }}) over (
            partition by student_key, school_year, state_number
        ) as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from numbered

),

snapshots as (

    select
        carried.student_key,
        carried.school_year,
        carried.as_of_date,
        carried.municipality_code,
        carried.region_code,
        carried.school_code,
        carried.grade,
        carried.grade_band,
        carried.ytd_scheduled_lessons,
        carried.ytd_absent_lessons,
        {{ attendance_tier('carried.ytd_absent_lessons', 'carried.ytd_scheduled_lessons') }} as tier

    from carried

    inner join pupil_enrolment_ends
        on carried.student_key = pupil_enrolment_ends.student_key

    where pupil_enrolment_ends.enrolled_until >= {{ add_days('carried.as_of_date', -6) }}

)

select * from snapshots
