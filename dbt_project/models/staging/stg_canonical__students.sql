-- Enrolments. An extract's students file replaces the municipality's enrolments
-- (DESIGN §3), so only the latest loaded extract of each municipality counts.

with

source as (

    select * from {{ source('canonical', 'students') }}

),

effective_extract_days as (

    select * from {{ ref('int_effective_extract_days') }}

),

latest_extracts as (

    select distinct
        municipality_code,
        extract_id

    from effective_extract_days

    where is_latest_extract

),

typed as (

    select
        cast(municipality_code as {{ dbt.type_string() }}) as municipality_code,
        cast(profile as {{ dbt.type_string() }}) as profile,
        cast(extract_id as {{ dbt.type_string() }}) as extract_id,
        cast(student_key as {{ dbt.type_string() }}) as student_key,
        cast(school_code as {{ dbt.type_string() }}) as school_code,
        cast(grade as integer) as grade,
        cast(enrolled_from as date) as enrolled_from,
        cast(enrolled_to as date) as enrolled_to

    from source

),

effective as (

    select typed.*

    from typed

    inner join latest_extracts
        on typed.municipality_code = latest_extracts.municipality_code
        and typed.extract_id = latest_extracts.extract_id

)

select * from effective
