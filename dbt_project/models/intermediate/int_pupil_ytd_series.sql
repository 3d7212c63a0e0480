-- A pupil's year-to-date series (DESIGN §7): one row per pupil, school year and date that
-- carries records (period_end), with that date's lessons, the running totals over the
-- school year and the tier on that date. The pupil is placed where their record of that
-- date is. Cumulative figures follow the pupil across a school change (and across
-- municipalities when the key came from a learner OID).

{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_series(this, ref('int_pupil_periods')) }}",
    post_hook="{{ remember_pupil_changes_seen(this, ref('int_pupil_periods')) }}",
) }}

with

-- Incremental on DuckDB: a build writes the (pupil, school year) series whose records
-- changed in the last build of int_pupil_periods, from the last date before the earliest
-- change, its running totals continuing from the totals before that date
-- (macros/pupil_changes.sql, macro series_records); every figure here is computed within
-- one pupil and school year.
pupil_periods as (

    {{ series_records(this, ref('int_pupil_periods')) }}

),

-- One sort of the pupil periods by pupil, school year and date serves every figure: the
-- date's lessons (a RANGE frame of the date's peers), the running totals (RANGE from the
-- start: a date's records all count on that date) and the placement. Nearly every pupil
-- date has one record; when several share a date (weekly and daily, or two municipalities)
-- the one with the latest period_start places the pupil (a daily record beats a weekly
-- one), then the highest municipality code. (municipality, pupil, period_start, period_end)
-- is unique, so exactly one record of each date carries the date's maximum placement key.
-- next_period_end (the pupil's next date in the school year) lets the tier snapshots take
-- each week's last point without another pass over the series.
framed as (

    select
        student_key,
        school_year,
        period_end,
        municipality_code,
        region_code,
        school_code,
        grade,
        grade_band,
        {{ placement_key('period_start', 'municipality_code') }} as placement_key,
        max({{ placement_key('period_start', 'municipality_code') }}) over date_peers
            as date_placement_key,
        sum(scheduled_lessons) over date_peers as date_scheduled_lessons,
        sum(absent_lessons) over date_peers as date_absent_lessons,
        base_scheduled_lessons + sum(scheduled_lessons) over year_to_date
            as ytd_scheduled_lessons,
        base_absent_lessons + sum(absent_lessons) over year_to_date as ytd_absent_lessons,
        min(period_end) over later_dates as next_period_end

    from pupil_periods

    window
        date_peers as (
            partition by student_key, school_year
            order by period_end
            range between current row and current row
        ),
        year_to_date as (
            partition by student_key, school_year
            order by period_end
            range between unbounded preceding and current row
        ),
        later_dates as (
            partition by student_key, school_year
            order by period_end
            range between interval 1 day following and unbounded following
        )

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
        cast(date_scheduled_lessons as decimal(18, 3)) as scheduled_lessons,
        cast(date_absent_lessons as decimal(18, 3)) as absent_lessons,
        cast(ytd_scheduled_lessons as decimal(18, 3)) as ytd_scheduled_lessons,
        cast(ytd_absent_lessons as decimal(18, 3)) as ytd_absent_lessons,
        next_period_end

    from framed

    where placement_key = date_placement_key

),

series as (

    select
        *,
        {{ attendance_tier('ytd_absent_lessons', 'ytd_scheduled_lessons') }} as tier

    from running_totals

)

select * from series
