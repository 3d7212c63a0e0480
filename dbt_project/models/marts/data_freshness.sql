-- Delivery status of every municipality of the reference classification (DESIGN §3/§8/§8.1):
--   `quarantined`: the newest drop seen (by processing time) was quarantined;
--   `ok` / `late`: it has a loaded extract, `late` when that is older than the reference time
--   minus `late_after_hours` (reference = newest extracted_at of a drop that was not
--   quarantined, capped at its processing time; or the wall clock with freshness_clock =
--   'wall');
--   `late` also when its remote source (config/sources.yaml) cannot be read now;
--   `missing`: expected (seed expected_municipalities) but no drop has loaded;
--   `not_onboarded`: not expected and never delivered a drop.
-- last_error says why for every status but `ok`, in our own words (never the data's).

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

coverage as (

    select * from {{ ref('int_municipality_coverage') }}

),

pull_status as (

    select * from {{ ref('stg_pull__status') }}

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

statuses as (

    select
        municipalities.municipality_code,
        municipalities.region_code,
        coverage.last_extract_id,
        coverage.last_extracted_at,
        coverage.last_loaded_at,
        coverage.coverage_end,
        newest_drops.reason as newest_reason,
        newest_drops.rows_rejected,
        pull_status.last_error as pull_error,
        case
            when newest_drops.status = 'quarantined' then 'quarantined'
            -- Its remote source cannot be read: nothing new can arrive, whatever the clock.
            when coverage.last_extract_id is not null and pull_status.last_error is not null
                then 'late'
            when coverage.last_extract_id is not null
                and coverage.last_extracted_at
                    < {{ dbt.dateadd('hour', -var('late_after_hours'), 'reference_time.reference_at') }}
                then 'late'
            when coverage.last_extract_id is not null then 'ok'
            when expected_municipalities.municipality_code is not null then 'missing'
            else 'not_onboarded'
        end as status

    from municipalities

    cross join reference_time

    left join coverage
        on municipalities.municipality_code = coverage.municipality_code

    left join newest_drops
        on municipalities.municipality_code = newest_drops.municipality_code
        and newest_drops.drop_rank = 1

    left join expected_municipalities
        on municipalities.municipality_code = expected_municipalities.municipality_code

    left join pull_status
        on municipalities.municipality_code = pull_status.municipality_code

),

final as (

    select
        statuses.municipality_code,
        municipality_names.kunta_name_fi as municipality_name,
        statuses.region_code,
        region_names.maakunta_name_fi as region_name,
        statuses.last_extract_id,
        statuses.last_extracted_at,
        statuses.last_loaded_at,
        statuses.coverage_end,
        statuses.status,
        case statuses.status
            when 'quarantined' then statuses.newest_reason
            when 'late' then
                case
                    when statuses.pull_error is not null
                        then 'its remote source cannot be read: ' || statuses.pull_error
                    else
                        'the last loaded extract is older than {{ var("late_after_hours") }} '
                        || 'hours (compared with {% if var("freshness_clock") == "wall" %}the '
                        || 'clock{% else %}the newest extract of any municipality{% endif %})'
                end
            when 'missing' then
                'expected (seed expected_municipalities), but no drop has loaded yet'
                || coalesce('; its remote source cannot be read: ' || statuses.pull_error, '')
            when 'not_onboarded' then
                'not onboarded: not expected, and no drop has been delivered'
                || coalesce('; its remote source cannot be read: ' || statuses.pull_error, '')
        end as last_error,
        cast(statuses.rows_rejected as {{ dbt.type_bigint() }}) as rejected_rows

    from statuses

    {{ place_joins('statuses') }}

)

select * from final
