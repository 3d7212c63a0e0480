-- Absence records with their harmonised category (DESIGN §6.1). The code map is keyed by
-- (profile, local code); a row for the record's own municipality overrides the
-- profile-wide row (empty municipality_code).

with

absences as (

    select * from {{ ref('stg_canonical__absences') }}

),

code_map as (

    select * from {{ ref('absence_code_map') }}

),

municipal_codes as (

    select * from code_map where coalesce(municipality_code, '') <> ''

),

profile_codes as (

    select * from code_map where coalesce(municipality_code, '') = ''

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
        coalesce(municipal_codes.category, profile_codes.category) as category,
        absences.lessons

    from absences

    left join municipal_codes
        on absences.profile = municipal_codes.profile
        and absences.municipality_code = municipal_codes.municipality_code
        and absences.local_code = municipal_codes.local_code

    left join profile_codes
        on absences.profile = profile_codes.profile
        and absences.local_code = profile_codes.local_code

)

select * from categorised
