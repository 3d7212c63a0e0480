-- Window replacement (DESIGN §3): a loaded extract is authoritative for its municipality
-- over its coverage window, and extracts apply in order of extracted_at. So for every
-- (municipality, day) the loaded extract with the latest extracted_at that covers the day
-- wins. The macro effective_records keeps a canonical record only when its extract wins
-- its date (in int_pupil_periods, int_absences_categorised, int_interventions_typed), and
-- int_enrolments takes the students of the latest extract (is_latest_extract).

with

extracts as (

    select * from {{ ref('stg_ledger__extracts') }}

),

loaded_extracts as (

    select distinct
        municipality_code,
        extract_id,
        extracted_at,
        coverage_start,
        coverage_end

    from extracts

    where status = 'loaded'

),

ranked_extracts as (

    select
        *,
        row_number() over (
            partition by municipality_code
            order by extracted_at desc, extract_id desc
        ) = 1 as is_latest_extract

    from loaded_extracts

),

extract_days_expanded as (

    select
        municipality_code,
        extract_id,
        extracted_at,
        is_latest_extract,
        {{ expand_dates('coverage_start', 'coverage_end') }} as extract_day

    from ranked_extracts

),

extract_days as (

    select
        municipality_code,
        extract_id,
        extracted_at,
        is_latest_extract,
        cast(extract_day as date) as extract_day

    from extract_days_expanded

),

ranked_days as (

    select
        *,
        row_number() over (
            partition by municipality_code, extract_day
            order by extracted_at desc, extract_id desc
        ) as day_rank

    from extract_days

),

winners as (

    select
        municipality_code,
        extract_day,
        extract_id,
        extracted_at,
        is_latest_extract

    from ranked_days

    where day_rank = 1

)

select * from winners
