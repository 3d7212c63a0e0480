-- What each (municipality, school year) partition of int_pupil_periods is built from, as
-- one fingerprint: the loads that win the partition's days (extract id and manifest hash,
-- so a re-delivered extract counts as new), the municipality's enrolments (the latest
-- extract's students place every record of the municipality, DESIGN §7) and the seeds the
-- records pass through (code map, municipalities). int_pupil_periods rebuilds exactly the
-- partitions whose fingerprint changed since its last build (incremental, not a rebuild
-- of every pupil-day each night). A sum of 64-bit row hashes (macro hash_sum) keeps this
-- cheap at national scale.

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

partition_loads as (

    select distinct
        effective_extract_days.municipality_code,
        {{ school_year_label('effective_extract_days.extract_day') }} as school_year,
        effective_extract_days.extract_id || ':' || coalesce(extracts.manifest_sha256, '')
            as extract_load

    from effective_extract_days

    left join extracts
        on effective_extract_days.municipality_code = extracts.municipality_code
        and effective_extract_days.extract_id = extracts.extract_id
        and extracts.status = 'loaded'

),

partition_inputs as (

    select
        municipality_code,
        school_year,
        {{ ordered_string_agg('extract_load', ',') }} as extract_loads

    from partition_loads

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
        partition_inputs.municipality_code,
        partition_inputs.school_year,
        md5(concat_ws('|',
            partition_inputs.extract_loads,
            cast(coalesce(enrolment_inputs.enrolment_count, 0) as {{ dbt.type_string() }}),
            cast(coalesce(enrolment_inputs.enrolment_hash, 0) as {{ dbt.type_string() }}),
            cast(seed_inputs.code_map_hash as {{ dbt.type_string() }}),
            cast(seed_inputs.municipalities_hash as {{ dbt.type_string() }})
        )) as partition_fingerprint

    from partition_inputs

    cross join seed_inputs

    left join enrolment_inputs
        on partition_inputs.municipality_code = enrolment_inputs.municipality_code

)

select * from fingerprints
