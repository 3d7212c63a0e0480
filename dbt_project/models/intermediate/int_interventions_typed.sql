-- Interventions of the effective extracts (DESIGN §3 window replacement, macro
-- effective_records) with their harmonised type, tier and dimension (DESIGN §6.2) from the
-- code map resolved for the municipality (int_code_maps__resolved), placed in the school
-- and grade of the enrolment covering the intervention date (macro place_on_enrolment).

with

interventions as (

    select * from {{ ref('stg_canonical__interventions') }}

),

effective_extract_days as (

    select * from {{ ref('int_effective_extract_days') }}

),

code_maps as (

    select * from {{ ref('int_code_maps__resolved') }}

),

intervention_types as (

    select * from {{ ref('intervention_types') }}

),

enrolments as (

    select * from {{ ref('int_enrolments') }}

),

municipalities as (

    select * from {{ ref('int_municipalities') }}

),

effective_interventions as (

    {{ effective_records('interventions', 'intervention_date') }}

),

intervention_codes as (

    select * from code_maps where code_map = 'intervention'

),

typed as (

    select
        effective_interventions.municipality_code,
        effective_interventions.profile,
        effective_interventions.extract_id,
        effective_interventions.student_key,
        effective_interventions.intervention_date,
        effective_interventions.local_code,
        effective_interventions.role,
        intervention_codes.harmonised_code as intervention_type

    from effective_interventions

    left join intervention_codes
        on effective_interventions.profile = intervention_codes.profile
        and effective_interventions.municipality_code = intervention_codes.municipality_code
        and effective_interventions.local_code = intervention_codes.local_code

),

with_enrolment as (

    {{ place_on_enrolment('typed', 'intervention_date') }}

),

final as (

    select
        with_enrolment.student_key,
        with_enrolment.municipality_code,
        municipalities.region_code,
        with_enrolment.school_code,
        with_enrolment.grade,
        with_enrolment.grade_band,
        with_enrolment.intervention_date,
        {{ school_year_label('with_enrolment.intervention_date') }} as school_year,
        {{ term_of('with_enrolment.intervention_date') }} as term,
        with_enrolment.intervention_type,
        intervention_types.tier,
        intervention_types.dimension,
        with_enrolment.local_code,
        with_enrolment.role,
        with_enrolment.profile,
        with_enrolment.extract_id

    from with_enrolment

    left join intervention_types
        on with_enrolment.intervention_type = intervention_types.intervention_type

    left join municipalities
        on with_enrolment.municipality_code = municipalities.municipality_code

)

select * from final
