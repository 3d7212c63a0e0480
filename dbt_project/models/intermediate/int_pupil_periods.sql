-- One row per pupil record (pupil-day, or Monday-Sunday for weekly profiles) with the
-- harmonised absence categories (DESIGN §6.1) and the calendar of DESIGN §7: a record
-- counts on its period_end, in the school and grade of the enrolment covering that date
-- (macro place_on_enrolment), in the region of its municipality (int_municipalities). Only
-- records of the extract that wins their period_end count (macro effective_records).
-- Pupil-level and restricted: never published.
--
-- Incremental: a build writes only the rows whose inputs changed since the last one
-- (macros/incremental.sql). On DuckDB those are the weeks whose winning loads changed
-- (int_pupil_period_partitions) and the pupils whose enrolments changed, so a night on
-- which municipalities deliver a 14-day window rebuilds two or three weeks of theirs.
-- On Spark, whole (municipality, school year) partitions. `dbt build --full-refresh`
-- (`absence run --full-refresh`) rebuilds it all: do that after a change to this SQL or
-- its macros, which no fingerprint sees.

{{ config(
    materialized='incremental',
    incremental_strategy=partition_replace_strategy(),
    partition_by=['municipality_code', 'school_year'],
    on_schema_change='fail',
    pre_hook="{{ delete_stale_partitions(this, ref('int_pupil_period_partitions'), ref('int_enrolments')) }}",
    post_hook=[
        "{{ record_pupil_changes(this, ref('int_pupil_period_partitions'), ref('int_enrolments')) }}",
        "{{ remember_built_inputs(this, 'weeks', ref('int_pupil_period_partitions'), ref('int_enrolments')) }}",
        "{{ remember_built_inputs(this, 'enrolments', ref('int_pupil_period_partitions'), ref('int_enrolments')) }}",
    ],
) }}

{%- set categories = [
    ('illness', 'illness_lessons'),
    ('authorised', 'authorised_lessons'),
    ('unauthorised', 'unauthorised_lessons'),
    ('unexplained', 'unexplained_lessons'),
    ('late', 'late_count'),
    ('school_business', 'school_business_lessons'),
] %}
{%- set absent_categories = ['illness_lessons', 'authorised_lessons', 'unauthorised_lessons', 'unexplained_lessons'] %}

with

partitions as (

    select * from {{ ref('int_pupil_period_partitions') }}

),

canonical_attendance as (

    select * from {{ ref('stg_canonical__attendance') }}

),

effective_extract_days as (

    select * from {{ ref('int_effective_extract_days') }}

),

categorised_absences as (

    select * from {{ ref('int_absences_categorised') }}

),

all_enrolments as (

    select * from {{ ref('int_enrolments') }}

),

municipalities as (

    select * from {{ ref('int_municipalities') }}

),

-- The weeks to build (every week on a first build or a full refresh) and the pupils to
-- build on every date (their enrolments changed), macros/incremental.sql.
pending_weeks as (

    {{ pupil_period_pending_weeks(this, 'partitions') }}

),

moved_pupils as (

    {{ pupil_period_moved_pupils(this, 'all_enrolments', found=true) }}

),

-- DESIGN §3 window replacement: the records of the extract that wins their period_end.
effective_attendance as (

    {{ effective_records('canonical_attendance', 'period_end') }}

),

attendance as (

    select
        effective_attendance.*,
        {{ stored_fingerprint('partitions') }} as partition_fingerprint

    from effective_attendance

    inner join partitions
        on effective_attendance.municipality_code = partitions.municipality_code
        and {{ school_year_label('effective_attendance.period_end') }} = partitions.school_year
        and {{ week_start('effective_attendance.period_end') }} = partitions.week_start

    {{ only_records_to_build('effective_attendance', 'period_end') }}

),

-- The absences of those records only (joined to them by pupil and period below).
absences as (

    select categorised_absences.*

    from categorised_absences

    {{ only_records_to_build('categorised_absences', 'period_end') }}

),

enrolments as (

    select * from all_enrolments

),

absence_totals as (

    select
        municipality_code,
        student_key,
        period_start,
        period_end,
        {%- for category, column in categories %}
        sum(case when category = '{{ category }}' then lessons else 0 end) as {{ column }},
        {%- endfor %}
        count(*) as absence_rows

    from absences

    group by
        municipality_code,
        student_key,
        period_start,
        period_end

),

-- DESIGN §7: the school and grade of the enrolment covering the record's period_end.
placed_attendance as (

    {{ place_on_enrolment('attendance', 'period_end') }}

),

pupil_periods as (

    select
        placed_attendance.student_key,
        placed_attendance.municipality_code,
        municipalities.region_code,
        placed_attendance.school_code,
        placed_attendance.grade,
        placed_attendance.grade_band,
        placed_attendance.period_start,
        placed_attendance.period_end,
        {{ school_year_label('placed_attendance.period_end') }} as school_year,
        {{ term_of('placed_attendance.period_end') }} as term,
        placed_attendance.scheduled_lessons,
        {%- for category, column in categories %}
        cast(coalesce(absence_totals.{{ column }}, 0) as decimal(18, 3)) as {{ column }},
        {%- endfor %}
        cast(
            {%- for column in absent_categories %}
            coalesce(absence_totals.{{ column }}, 0){% if not loop.last %} +{% endif %}
            {%- endfor %}
            as decimal(18, 3)
        ) as absent_lessons,
        placed_attendance.profile,
        placed_attendance.extract_id,
        placed_attendance.partition_fingerprint

    from placed_attendance

    left join absence_totals
        on placed_attendance.municipality_code = absence_totals.municipality_code
        and placed_attendance.student_key = absence_totals.student_key
        and placed_attendance.period_start = absence_totals.period_start
        and placed_attendance.period_end = absence_totals.period_end

    left join municipalities
        on placed_attendance.municipality_code = municipalities.municipality_code

)

select * from pupil_periods
