-- Interventions per pupil and date with the source's local code: every record of the
-- canonical Parquet, typed. Which extract's records count (DESIGN §3 window replacement) is
-- decided after staging: int_interventions_typed keeps the effective ones (macro
-- effective_records) and maps the local codes.

with

source as (

    select * from {{ source('canonical', 'interventions') }}

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

)

select * from typed
