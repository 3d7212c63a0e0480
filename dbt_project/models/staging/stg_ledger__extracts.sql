-- Every drop the ingest has seen, whatever became of it (loaded, superseded, duplicate,
-- quarantined). Typed only: window replacement happens in int_effective_extract_days.
-- Ingest never writes a ledger row for a folder that is no municipality of the reference
-- classification (DESIGN §3); a row left by an older version is ignored here, so it cannot
-- fail the relationship test and stop the whole build.

with

source as (

    select * from {{ source('ledger', 'extracts') }}

),

municipalities as (

    select * from {{ ref('kunnat_2026') }}

),

typed as (

    select
        cast(municipality_code as {{ dbt.type_string() }}) as municipality_code,
        cast(extract_id as {{ dbt.type_string() }}) as extract_id,
        cast(profile as {{ dbt.type_string() }}) as profile,
        extracted_at,
        cast(coverage_start as date) as coverage_start,
        cast(coverage_end as date) as coverage_end,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(manifest_sha256 as {{ dbt.type_string() }}) as manifest_sha256,
        cast(rows_read as {{ dbt.type_bigint() }}) as rows_read,
        cast(rows_loaded as {{ dbt.type_bigint() }}) as rows_loaded,
        cast(rows_rejected as {{ dbt.type_bigint() }}) as rows_rejected,
        cast(schema_drift as {{ dbt.type_string() }}) as schema_drift,
        cast(rows_duplicate as {{ dbt.type_bigint() }}) as rows_duplicate,
        started_at,
        finished_at

    from source

    where cast(municipality_code as {{ dbt.type_string() }}) in (
        select kunta_code from municipalities
    )

)

select * from typed
