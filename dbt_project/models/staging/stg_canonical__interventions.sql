-- Interventions per pupil and date, only from the extract that is authoritative for the
-- intervention_date (DESIGN §3 window replacement). Local codes are mapped in
-- int_interventions_typed.

with

source as (

    select * from {{ source('canonical', 'interventions') }}

),

effective_extract_days as (

    select * from {{ ref('int_effective_extract_days') }}

),

typed as (

    select
        cast(municipality_code as {{ dbt.type_string() }}) as municipality_code,
        cast(profile as {{ dbt.type_string() }}) as profile,
        cast(extract_id as {{ dbt.type_string() }}) as extract_id,
        cast(student_key as {{ dbt.type_string() }}) as student_key,
        cast(intervention_date as date) as intervention_date,
        cast(local_code as {{ dbt.type_string() }}) as local_code,
        cast(role as {{ dbt.type_string() }}) as role

    from source

),

effective as (

    select typed.*

    from typed

    inner join effective_extract_days
        on typed.municipality_code = effective_extract_days.municipality_code
        and typed.extract_id = effective_extract_days.extract_id
        and typed.intervention_date = effective_extract_days.extract_day

)

select * from effective
