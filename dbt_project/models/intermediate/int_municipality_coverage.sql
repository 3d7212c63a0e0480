-- How far each municipality's data go: the coverage_end of its latest loaded extract (by
-- extracted_at), the value data_freshness publishes as coverage_end. The published rates and
-- tiers carry the earliest of these among the municipalities in a row as data_through.

with

extracts as (

    select * from {{ ref('stg_ledger__extracts') }}

),

ranked as (

    select
        municipality_code,
        extract_id,
        extracted_at,
        finished_at,
        coverage_end,
        row_number() over (
            partition by municipality_code
            order by extracted_at desc, extract_id desc
        ) as load_rank

    from extracts

    where status = 'loaded'

),

final as (

    select
        municipality_code,
        extract_id as last_extract_id,
        extracted_at as last_extracted_at,
        finished_at as last_loaded_at,
        coverage_end

    from ranked

    where load_rank = 1

)

select * from final
