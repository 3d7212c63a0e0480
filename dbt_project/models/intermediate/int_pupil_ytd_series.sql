-- A pupil's year-to-date series (DESIGN §7): one row per pupil, school year and date that
-- carries records (period_end), with that date's lessons, the running totals over the
-- school year and the tier on that date. The pupil is placed where their record of that
-- date is. Cumulative figures follow the pupil across a school change (and across
-- municipalities when the key came from a learner OID).

with

pupil_periods as (

    select * from {{ ref('int_pupil_periods') }}

),

-- Nearly every pupil date carries exactly one record, so the placement columns ride along
-- in the same aggregation (max() of one row is that row); only dates with several records
-- are ranked. One pass over the pupil periods instead of an aggregation plus a window
-- over every row.
date_totals as (

    select
        student_key,
        school_year,
        period_end,
        sum(scheduled_lessons) as scheduled_lessons,
        sum(absent_lessons) as absent_lessons,
        count(*) as records,
        max(municipality_code) as municipality_code,
        max(region_code) as region_code,
        max(school_code) as school_code,
        max(grade) as grade,
        max(grade_band) as grade_band

    from pupil_periods

    group by
        student_key,
        school_year,
        period_end

),

shared_dates as (

    select
        student_key,
        period_end

    from date_totals

    where records > 1

),

-- Two records on one date (weekly and daily, or two municipalities) are rare; the one
-- with the latest period_start places the pupil, so a daily record beats a weekly one.
shared_placements as (

    select
        pupil_periods.student_key,
        pupil_periods.period_end,
        pupil_periods.municipality_code,
        pupil_periods.region_code,
        pupil_periods.school_code,
        pupil_periods.grade,
        pupil_periods.grade_band,
        row_number() over (
            partition by pupil_periods.student_key, pupil_periods.period_end
            order by
                pupil_periods.period_start desc,
                pupil_periods.municipality_code desc,
                pupil_periods.school_code desc
        ) as placement_rank

    from pupil_periods

    inner join shared_dates
        on pupil_periods.student_key = shared_dates.student_key
        and pupil_periods.period_end = shared_dates.period_end

),

date_placements as (

    select
        date_totals.student_key,
        date_totals.school_year,
        date_totals.period_end,
        date_totals.scheduled_lessons,
        date_totals.absent_lessons,
        {%- for column in ['municipality_code', 'region_code', 'school_code', 'grade', 'grade_band'] %}
        case
            when date_totals.records = 1 then date_totals.{{ column }}
            else shared_placements.{{ column }}
        end as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from date_totals

    left join shared_placements
        on date_totals.records > 1
        and date_totals.student_key = shared_placements.student_key
        and date_totals.period_end = shared_placements.period_end
        and shared_placements.placement_rank = 1

),

running_totals as (

    select
        student_key,
        school_year,
        period_end,
        {{ term_of('period_end') }} as term,
        municipality_code,
        region_code,
        school_code,
        grade,
        grade_band,
        cast(scheduled_lessons as decimal(18, 3)) as scheduled_lessons,
        cast(absent_lessons as decimal(18, 3)) as absent_lessons,
        cast(sum(scheduled_lessons) over (
            partition by student_key, school_year
            order by period_end
            rows between unbounded preceding and current row
        ) as decimal(18, 3)) as ytd_scheduled_lessons,
        cast(sum(absent_lessons) over (
            partition by student_key, school_year
            order by period_end
            rows between unbounded preceding and current row
        ) as decimal(18, 3)) as ytd_absent_lessons

    from date_placements

),

series as (

    select
        *,
        {{ attendance_tier('ytd_absent_lessons', 'ytd_scheduled_lessons') }} as tier

    from running_totals

)

select * from series
