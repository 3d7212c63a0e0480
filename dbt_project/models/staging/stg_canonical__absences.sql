-- Absence lessons per pupil, period and local code, only from the extract that is
-- authoritative for the record's period_end (DESIGN §3 window replacement).
-- Local codes are mapped to categories in int_absences_categorised.

with

source as (

    select * from {{ source('canonical', 'absences') }}

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
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(local_code as {{ dbt.type_string() }}) as local_code,
        cast(lessons as decimal(18, 3)) as lessons

    from source

),

effective as (

    select typed.*

    from typed

    inner join effective_extract_days
        on typed.municipality_code = effective_extract_days.municipality_code
        and typed.extract_id = effective_extract_days.extract_id
        and typed.period_end = effective_extract_days.extract_day

)

select * from effective
