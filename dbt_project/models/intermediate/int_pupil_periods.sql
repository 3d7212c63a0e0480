-- One row per pupil record (pupil-day, or Monday-Sunday for weekly profiles) with the
-- harmonised absence categories (DESIGN §6.1) and the calendar of DESIGN §7: a record
-- counts on its period_end, in the school and grade of the enrolment covering that date
-- (macro place_on_enrolment), in the region of its municipality (int_municipalities). Only
-- records of the extract that wins their period_end count (macro effective_records).
-- Pupil-level and restricted: never published.
--
-- Incremental, partitioned by (municipality, school year): a build replaces only the
-- partitions whose inputs changed (int_pupil_period_partitions fingerprints them), so a
-- night on which a few municipalities deliver rebuilds those municipalities' rows, and a
-- finished school year is rebuilt only when its municipality's enrolments change. The model
-- selects the partitions whose current fingerprint is not in the table; each engine then
-- replaces them its own way (macro partition_replace_strategy): on DuckDB the pre-hook
-- deletes every row whose fingerprint is no longer current and the rows are appended; on
-- Spark `insert_overwrite` overwrites exactly the partitions written. `dbt build
-- --full-refresh` (`absence run --full-refresh`) rebuilds it all: do that after a change to
-- this SQL or its macros, which no fingerprint sees.

{{ config(
    materialized='incremental',
    incremental_strategy=partition_replace_strategy(),
    partition_by=['municipality_code', 'school_year'],
    on_schema_change='fail',
    pre_hook="{{ delete_stale_partitions(this, ref('int_pupil_period_partitions')) }}",
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

-- The partitions to build: all of them on a first (or full-refresh) build, otherwise those
-- whose current fingerprint the table does not hold.
pending_partitions as (

    select partitions.*

    from partitions

    {%- if is_incremental() %}

    where not exists (
        select 1
        from {{ this }} as built
        where built.municipality_code = partitions.municipality_code
            and built.school_year = partitions.school_year
            and built.partition_fingerprint = partitions.partition_fingerprint
    )
    {%- endif %}

),

pending_municipalities as (

    select distinct municipality_code from pending_partitions

),

-- DESIGN §3 window replacement: the records of the extract that wins their period_end.
effective_attendance as (

    {{ effective_records('canonical_attendance', 'period_end') }}

),

attendance as (

    select
        effective_attendance.*,
        pending_partitions.partition_fingerprint

    from effective_attendance

    inner join pending_partitions
        on effective_attendance.municipality_code = pending_partitions.municipality_code
        and {{ school_year_label('effective_attendance.period_end') }} = pending_partitions.school_year

),

absences as (

    select categorised_absences.*

    from categorised_absences

    inner join pending_partitions
        on categorised_absences.municipality_code = pending_partitions.municipality_code
        and {{ school_year_label('categorised_absences.period_end') }} = pending_partitions.school_year

),

enrolments as (

    select all_enrolments.*

    from all_enrolments

    inner join pending_municipalities
        on all_enrolments.municipality_code = pending_municipalities.municipality_code

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
