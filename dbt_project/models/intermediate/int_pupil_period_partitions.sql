-- What each (municipality, school year, week) of int_pupil_periods is built from, as
-- fingerprints. int_pupil_periods (incremental) rebuilds the rows whose inputs changed
-- since its last build, not every pupil-day each night (macros/incremental.sql).
--
-- partition_fingerprint, per week: which load wins each day of the week (extract id and
-- manifest hash, so a re-delivered extract counts as new) and the seeds the records pass
-- through (code map, municipalities). A night's 14-day window changes the fingerprints
-- of the two or three weeks it covers, and nothing else. Enrolments are not in it: on
-- DuckDB int_pupil_periods compares each pupil's enrolments with those it was placed
-- with, so a new enrolment list that moves nobody changes nothing, and one that moves a
-- pupil rebuilds that pupil's rows only.
--
-- school_year_fingerprint: the same for the whole school year plus the municipality's
-- enrolments (the latest extract's students place every record of the municipality,
-- DESIGN §7). Spark replaces whole (municipality, school year) partitions
-- (insert_overwrite) and keeps no other state, so it rebuilds a partition when this
-- changes.
--
-- A sum of 64-bit row hashes (macro hash_sum) keeps this cheap at national scale.

with

effective_extract_days as (

    select * from {{ ref('int_effective_extract_days') }}

),

extracts as (

    select * from {{ ref('stg_ledger__extracts') }}

),

enrolments as (

    select * from {{ ref('int_enrolments') }}

),

code_map as (

    select * from {{ ref('absence_code_map') }}

),

municipalities as (

    select * from {{ ref('kunnat_2026') }}

),

day_loads as (

    select distinct
        effective_extract_days.municipality_code,
        {{ school_year_label('effective_extract_days.extract_day') }} as school_year,
        {{ week_start('effective_extract_days.extract_day') }} as week_start,
        effective_extract_days.extract_day,
        effective_extract_days.extract_id || ':' || coalesce(extracts.manifest_sha256, '')
            as extract_load

    from effective_extract_days

    left join extracts
        on effective_extract_days.municipality_code = extracts.municipality_code
        and effective_extract_days.extract_id = extracts.extract_id
        and extracts.status = 'loaded'

),

week_inputs as (

    select
        municipality_code,
        school_year,
        week_start,
        {{ ordered_string_agg(
            "cast(extract_day as " ~ dbt.type_string() ~ ") || '=' || extract_load", ',') }}
            as day_loads

    from day_loads

    group by
        municipality_code,
        school_year,
        week_start

),

school_year_loads as (

    select distinct
        municipality_code,
        school_year,
        extract_load

    from day_loads

),

school_year_inputs as (

    select
        municipality_code,
        school_year,
        {{ ordered_string_agg('extract_load', ',') }} as extract_loads

    from school_year_loads

    group by
        municipality_code,
        school_year

),

enrolment_inputs as (

    select
        municipality_code,
        count(*) as enrolment_count,
        {{ hash_sum(['student_key', 'school_code', 'grade', 'grade_band', 'region_code',
                     'enrolled_from', 'enrolled_to']) }} as enrolment_hash

    from enrolments

    group by municipality_code

),

seed_inputs as (

    select
        (select {{ relation_hash_sum(ref('absence_code_map')) }} from code_map) as code_map_hash,
        (select {{ relation_hash_sum(ref('kunnat_2026')) }} from municipalities)
            as municipalities_hash

),

fingerprints as (

    select
        week_inputs.municipality_code,
        week_inputs.school_year,
        week_inputs.week_start,
        md5(concat_ws('|',
            week_inputs.day_loads,
            cast(seed_inputs.code_map_hash as {{ dbt.type_string() }}),
            cast(seed_inputs.municipalities_hash as {{ dbt.type_string() }})
        )) as partition_fingerprint,
        md5(concat_ws('|',
            school_year_inputs.extract_loads,
            cast(coalesce(enrolment_inputs.enrolment_count, 0) as {{ dbt.type_string() }}),
            cast(coalesce(enrolment_inputs.enrolment_hash, 0) as {{ dbt.type_string() }}),
            cast(seed_inputs.code_map_hash as {{ dbt.type_string() }}),
            cast(seed_inputs.municipalities_hash as {{ dbt.type_string() }})
        )) as school_year_fingerprint

    from week_inputs

    inner join school_year_inputs
        on week_inputs.municipality_code = school_year_inputs.municipality_code
        and week_inputs.school_year = school_year_inputs.school_year

    cross join seed_inputs

    left join enrolment_inputs
        on week_inputs.municipality_code = enrolment_inputs.municipality_code

)

select * from fingerprints
