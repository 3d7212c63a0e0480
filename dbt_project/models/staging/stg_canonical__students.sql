-- Enrolments: the students file of every extract in the canonical Parquet, typed. An
-- extract's students file replaces the municipality's enrolments (DESIGN §3):
-- int_enrolments keeps those of the latest loaded extract.

with

source as (

    select * from {{ source('canonical', 'students') }}

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

)

select * from typed
