-- A pupil's year-to-date series (DESIGN §7): one row per pupil, school year and date that
-- carries records (period_end), with that date's lessons, the running totals over the
-- school year and the tier on that date. The pupil is placed where their record of that
-- date is. Cumulative figures follow the pupil across a school change (and across
-- municipalities when the key came from a learner OID).

with

pupil_periods as (

    select * from {{ ref('int_pupil_periods') }}

),

date_totals as (

    select
        student_key,
        school_year,
        period_end,
        sum(scheduled_lessons) as scheduled_lessons,
        sum(absent_lessons) as absent_lessons

    from pupil_periods

    group by
        student_key,
        school_year,
        period_end

),

-- Two records on one date (weekly and daily, or two municipalities) are rare; the one
-- with the latest period_start places the pupil, so a daily record beats a weekly one.
date_placements as (

    select
        student_key,
        period_end,
        municipality_code,
        region_code,
        school_code,
        grade,
        grade_band,
        row_number() over (
            partition by student_key, period_end
            order by period_start desc, municipality_code desc, school_code desc
        ) as placement_rank

    from pupil_periods

),

running_totals as (

    select
        date_totals.student_key,
        date_totals.school_year,
        date_totals.period_end,
        {{ term_of('date_totals.period_end') }} as term,
        date_placements.municipality_code,
        date_placements.region_code,
        date_placements.school_code,
        date_placements.grade,
        date_placements.grade_band,
        cast(date_totals.scheduled_lessons as decimal(18, 3)) as scheduled_lessons,
        cast(date_totals.absent_lessons as decimal(18, 3)) as absent_lessons,
        cast(sum(date_totals.scheduled_lessons) over (
            partition by date_totals.student_key, date_totals.school_year
            order by date_totals.period_end
            rows between unbounded preceding and current row
        ) as decimal(18, 3)) as ytd_scheduled_lessons,
        cast(sum(date_totals.absent_lessons) over (
            partition by date_totals.student_key, date_totals.school_year
            order by date_totals.period_end
            rows between unbounded preceding and current row
        ) as decimal(18, 3)) as ytd_absent_lessons

    from date_totals

    inner join date_placements
        on date_totals.student_key = date_placements.student_key
        and date_totals.period_end = date_placements.period_end
        and date_placements.placement_rank = 1

),

series as (

    select
        *,
        {{ attendance_tier('ytd_absent_lessons', 'ytd_scheduled_lessons') }} as tier

    from running_totals

)

select * from series
