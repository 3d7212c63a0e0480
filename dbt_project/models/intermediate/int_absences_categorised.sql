-- Absence records of the effective extracts (DESIGN §3 window replacement, macro
-- effective_records) with their harmonised category (DESIGN §6.1) from the code map
-- resolved for the record's municipality (int_code_maps__resolved).

with

absences as (

    select * from {{ ref('stg_canonical__absences') }}

),

effective_extract_days as (

    select * from {{ ref('int_effective_extract_days') }}

),

code_maps as (

    select * from {{ ref('int_code_maps__resolved') }}

),

effective_absences as (

    {{ effective_records('absences', 'period_end') }}

),

absence_codes as (

    select * from code_maps where code_map = 'absence'

),

categorised as (

    select
        effective_absences.municipality_code,
        effective_absences.profile,
        effective_absences.extract_id,
        effective_absences.student_key,
        effective_absences.period_start,
        effective_absences.period_end,
        effective_absences.local_code,
        absence_codes.harmonised_code as category,
        effective_absences.lessons

    from effective_absences

    left join absence_codes
        on effective_absences.profile = absence_codes.profile
        and effective_absences.municipality_code = absence_codes.municipality_code
        and effective_absences.local_code = absence_codes.local_code

)

select * from categorised
