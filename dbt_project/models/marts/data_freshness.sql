-- Delivery status per municipality (DESIGN §3/§8): one row per municipality with any
-- ledger row, plus expected municipalities never seen (`missing`).
--   status `quarantined`: the newest drop seen (by processing time) was quarantined;
--   `late`: the last loaded extract is older than the reference time minus
--   `late_after_hours` (reference = newest extracted_at of a drop that was not
--   quarantined, capped at its processing time; or the wall clock with freshness_clock =
--   'wall'); `missing`: nothing loaded yet; else `ok`.

with

extracts as (

    select * from {{ ref('stg_ledger__extracts') }}

),

expected_municipalities as (

    select * from {{ ref('expected_municipalities') }}

),

municipalities as (

    select * from {{ ref('int_municipalities') }}

),

-- The data clock cannot run ahead of real time: a drop's extracted_at counts at most as
-- when it was processed (ingest quarantines one more than a day ahead), and quarantined
-- drops do not count at all. So one municipality's wrong clock cannot make the others late.
reference_time as (

    select
        {%- if var('freshness_clock') == 'wall' %}
        {{ dbt.current_timestamp() }} as reference_at
        {%- else %}
        max(
            case
                when started_at is not null and started_at < extracted_at then started_at
                else extracted_at
            end
        ) as reference_at
        {%- endif %}

    from extracts

    where status != 'quarantined'

),

newest_drops as (

    select
        municipality_code,
        extract_id,
        status,
        reason,
        rows_rejected,
        row_number() over (
            partition by municipality_code
            order by
                coalesce(started_at, finished_at, extracted_at) desc,
                extracted_at desc,
                extract_id desc
        ) as drop_rank

    from extracts

),

latest_loaded as (

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

seen_municipalities as (

    select distinct municipality_code from extracts

),

all_municipalities as (

    select municipality_code from seen_municipalities

    union

    select municipality_code from expected_municipalities

),

final as (

    select
        all_municipalities.municipality_code,
        municipalities.region_code,
        latest_loaded.extract_id as last_extract_id,
        latest_loaded.extracted_at as last_extracted_at,
        latest_loaded.finished_at as last_loaded_at,
        latest_loaded.coverage_end,
        case
            when newest_drops.status = 'quarantined' then 'quarantined'
            when latest_loaded.extract_id is null then 'missing'
            when latest_loaded.extracted_at
                < {{ dbt.dateadd('hour', -var('late_after_hours'), 'reference_time.reference_at') }}
                then 'late'
            else 'ok'
        end as status,
        case
            when newest_drops.status = 'quarantined' then newest_drops.reason
        end as last_error,
        cast(newest_drops.rows_rejected as {{ dbt.type_bigint() }}) as rejected_rows

    from all_municipalities

    cross join reference_time

    left join municipalities
        on all_municipalities.municipality_code = municipalities.municipality_code

    left join newest_drops
        on all_municipalities.municipality_code = newest_drops.municipality_code
        and newest_drops.drop_rank = 1

    left join latest_loaded
        on all_municipalities.municipality_code = latest_loaded.municipality_code
        and latest_loaded.load_rank = 1

)

select * from final
