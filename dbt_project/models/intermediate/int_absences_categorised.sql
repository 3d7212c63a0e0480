-- Absence records with their harmonised category (DESIGN §6.1) from the code map resolved
-- for the record's municipality (int_code_maps__resolved: the municipality's own row
-- first, then the profile-wide row).

with

absences as (

    select * from {{ ref('stg_canonical__absences') }}

),

code_maps as (

    select * from {{ ref('int_code_maps__resolved') }}

),

absence_codes as (

    select * from code_maps where code_map = 'absence'

),

categorised as (

    select
        absences.municipality_code,
        absences.profile,
        absences.extract_id,
        absences.student_key,
        absences.period_start,
        absences.period_end,
        absences.local_code,
        absence_codes.harmonised_code as category,
        absences.lessons

    from absences

    left join absence_codes
        on absences.profile = absence_codes.profile
        and absences.municipality_code = absence_codes.municipality_code
        and absences.local_code = absence_codes.local_code

)

select * from categorised
