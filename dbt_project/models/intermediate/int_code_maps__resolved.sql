-- The code maps of DESIGN §6 resolved per municipality: one row per (code map, profile,
-- municipality, local code) with the harmonised code that applies there. This is the one
-- place of the override rule: a municipality's own row of a map (municipality_code set)
-- beats the profile-wide row (empty municipality_code) for the same (profile, local code).
-- Absence categories and intervention types both join here on
-- (code_map, profile, municipality_code, local_code).

with

absence_code_map as (

    select * from {{ ref('absence_code_map') }}

),

intervention_code_map as (

    select * from {{ ref('intervention_code_map') }}

),

municipalities as (

    select * from {{ ref('int_municipalities') }}

),

code_maps as (

    select
        'absence' as code_map,
        profile,
        municipality_code,
        local_code,
        category as harmonised_code

    from absence_code_map

    union all

    select
        'intervention' as code_map,
        profile,
        municipality_code,
        local_code,
        intervention_type as harmonised_code

    from intervention_code_map

),

municipal_rows as (

    select * from code_maps where coalesce(municipality_code, '') <> ''

),

profile_rows as (

    select * from code_maps where coalesce(municipality_code, '') = ''

),

-- A profile-wide row applies in every municipality that has no row of its own for the
-- same (profile, local code).
profile_rows_per_municipality as (

    select
        profile_rows.code_map,
        profile_rows.profile,
        municipalities.municipality_code,
        profile_rows.local_code,
        profile_rows.harmonised_code

    from profile_rows

    cross join municipalities

),

inherited_rows as (

    select profile_rows_per_municipality.*

    from profile_rows_per_municipality

    left join municipal_rows
        on profile_rows_per_municipality.code_map = municipal_rows.code_map
        and profile_rows_per_municipality.profile = municipal_rows.profile
        and profile_rows_per_municipality.municipality_code = municipal_rows.municipality_code
        and profile_rows_per_municipality.local_code = municipal_rows.local_code

    where municipal_rows.local_code is null

),

resolved as (

    select
        code_map,
        profile,
        municipality_code,
        local_code,
        harmonised_code

    from municipal_rows

    union all

    select
        code_map,
        profile,
        municipality_code,
        local_code,
        harmonised_code

    from inherited_rows

)

select * from resolved
