-- One row per pupil record (pupil-day, or Monday-Sunday for weekly profiles) with the
-- harmonised absence categories (DESIGN §6.1) and the calendar of DESIGN §7: a record
-- counts on its period_end, in the school and grade of the enrolment covering that date.
-- Pupil-level and restricted: never published.
--
-- Incremental, partitioned by (municipality, school year): a build replaces only the
-- partitions whose inputs changed (int_pupil_period_partitions fingerprints them), so a
-- night on which a few municipalities deliver rebuilds those municipalities' rows, and a
-- finished school year is rebuilt only when its municipality's enrolments change. The pre-hook deletes every row whose partition
-- fingerprint is no longer current (or whose partition is gone); the model then appends
-- the partitions missing from the table (a table from before partitioning is emptied
-- first). `dbt build --full-refresh` (`absence run --full-refresh`) rebuilds it all: do that
-- after a change to this SQL or its macros, which no fingerprint sees.

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="""
        {% if is_incremental() %}
        {% set built_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
        {% if 'partition_fingerprint' not in built_columns %}
        -- A table built before partitioning: empty it, so every partition is rebuilt.
        delete from {{ this }};
        alter table {{ this }} add column partition_fingerprint varchar;
        {% else %}
        delete from {{ this }}
        where not exists (
            select 1
            from {{ ref('int_pupil_period_partitions') }} as current_partitions
            where current_partitions.municipality_code = {{ this }}.municipality_code
                and current_partitions.school_year = {{ this }}.school_year
                and current_partitions.partition_fingerprint = {{ this }}.partition_fingerprint
        )
        {% endif %}
        {% endif %}
    """,
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

-- The partitions to build: all of them on a first (or full-refresh) build, otherwise those
-- the pre-hook left out of the table.
pending_partitions as (

    select partitions.*

    from partitions

    {%- if is_incremental() %}

    where not exists (
        select 1
        from {{ this }} as built
        where built.municipality_code = partitions.municipality_code
            and built.school_year = partitions.school_year
    )
    {%- endif %}

),

pending_municipalities as (

    select distinct municipality_code from pending_partitions

),

attendance as (

    select
        attendance.*,
        pending_partitions.partition_fingerprint

    from {{ ref('stg_canonical__attendance') }} as attendance

    inner join pending_partitions
        on attendance.municipality_code = pending_partitions.municipality_code
        and {{ school_year_label('attendance.period_end') }} = pending_partitions.school_year

),

absences as (

    select absences.*

    from {{ ref('int_absences_categorised') }} as absences

    inner join pending_partitions
        on absences.municipality_code = pending_partitions.municipality_code
        and {{ school_year_label('absences.period_end') }} = pending_partitions.school_year

),

enrolments as (

    select enrolments.*

    from {{ ref('int_enrolments') }} as enrolments

    inner join pending_municipalities
        on enrolments.municipality_code = pending_municipalities.municipality_code

),

municipalities as (

    select * from {{ ref('int_municipalities') }}

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

-- Most pupils have one enrolment in their municipality: it places every record of theirs
-- (the ranking below would pick it whatever the date). Only pupils with several are
-- ranked per record date, so the window sorts their dates, not every pupil's.
enrolment_counts as (

    select
        municipality_code,
        student_key,
        count(*) as enrolment_count

    from enrolments

    group by
        municipality_code,
        student_key

),

single_enrolments as (

    select enrolments.*

    from enrolments

    inner join enrolment_counts
        on enrolments.municipality_code = enrolment_counts.municipality_code
        and enrolments.student_key = enrolment_counts.student_key

    where enrolment_counts.enrolment_count = 1

),

record_dates as (

    select distinct
        attendance.municipality_code,
        attendance.student_key,
        attendance.period_end

    from attendance

    inner join enrolment_counts
        on attendance.municipality_code = enrolment_counts.municipality_code
        and attendance.student_key = enrolment_counts.student_key

    where enrolment_counts.enrolment_count > 1

),

date_enrolments as (

    select
        record_dates.municipality_code,
        record_dates.student_key,
        record_dates.period_end,
        enrolments.school_code,
        enrolments.grade,
        enrolments.grade_band,
        row_number() over (
            partition by
                record_dates.municipality_code,
                record_dates.student_key,
                record_dates.period_end
            order by {{ enrolment_priority('record_dates.period_end') }}
        ) as enrolment_rank

    from record_dates

    inner join enrolments
        on record_dates.municipality_code = enrolments.municipality_code
        and record_dates.student_key = enrolments.student_key

),

pupil_periods as (

    select
        attendance.student_key,
        attendance.municipality_code,
        municipalities.region_code,
        case
            when single_enrolments.student_key is not null then single_enrolments.school_code
            else date_enrolments.school_code
        end as school_code,
        case
            when single_enrolments.student_key is not null then single_enrolments.grade
            else date_enrolments.grade
        end as grade,
        case
            when single_enrolments.student_key is not null then single_enrolments.grade_band
            else date_enrolments.grade_band
        end as grade_band,
        attendance.period_start,
        attendance.period_end,
        {{ school_year_label('attendance.period_end') }} as school_year,
        {{ term_of('attendance.period_end') }} as term,
        attendance.scheduled_lessons,
        {%- for category, column in categories %}
        cast(coalesce(absence_totals.{{ column }}, 0) as decimal(18, 3)) as {{ column }},
        {%- endfor %}
        cast(
            {%- for column in absent_categories %}
            coalesce(absence_totals.{{ column }}, 0){% if not loop.last %} +{% endif %}
            {%- endfor %}
            as decimal(18, 3)
        ) as absent_lessons,
        attendance.profile,
        attendance.extract_id,
        attendance.partition_fingerprint

    from attendance

    left join absence_totals
        on attendance.municipality_code = absence_totals.municipality_code
        and attendance.student_key = absence_totals.student_key
        and attendance.period_start = absence_totals.period_start
        and attendance.period_end = absence_totals.period_end

    left join single_enrolments
        on attendance.municipality_code = single_enrolments.municipality_code
        and attendance.student_key = single_enrolments.student_key

    left join date_enrolments
        on attendance.municipality_code = date_enrolments.municipality_code
        and attendance.student_key = date_enrolments.student_key
        and attendance.period_end = date_enrolments.period_end
        and date_enrolments.enrolment_rank = 1

    left join municipalities
        on attendance.municipality_code = municipalities.municipality_code

)

select * from pupil_periods
