-- Absence lessons per pupil, period and local code: every record of the canonical Parquet,
-- typed. Which extract's records count (DESIGN §3 window replacement) is decided after
-- staging: int_absences_categorised keeps the effective ones (macro effective_records) and
-- maps the local codes.

with

source as (

    select * from {{ source('canonical', 'absences') }}

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

)

select * from typed
