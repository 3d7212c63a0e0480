-- The last listing of each remote source (config/sources.yaml) and its error, if any: an
-- unreachable source makes its municipality `late` in data_freshness, with the reason.

with

source as (

    select * from {{ source('pull', 'status') }}

),

final as (

    select
        municipality_code,
        last_listing_at,
        last_error

    from source

)

select * from final
