-- Threshold crossings and the school's response, one row per pupil and school year in
-- which the pupil crossed the targeted threshold (DESIGN §7, worked example §7.1).
--   crossing date: the first date carrying a record on which the year-to-date rate
--     reaches the threshold with the minimum denominator met (the tier of that date);
--     counted once even if the pupil falls back later.
--   timely response: the first targeted- or intensive-tier intervention from
--     `timely_before_days` before to `timely_after_days` after the 10 % crossing;
--     lag = days from crossing to it, 0 if before.
--   intensive response: an individual attendance plan or a multi-professional group from
--     `timely_before_days` before to `intensive_after_days` after the 20 % crossing.
--   change after intervention: with t the first timely response, the rate over records
--     with period_end in [t+1, t+window] minus the rate over [t-window, t-1]; null unless
--     both windows hold `change_min_lessons` scheduled lessons.
-- Each crossing carries the place of the pupil's record on its date: the pupil counts
-- there, and in the term holding that date.
--
-- Incremental on DuckDB (macros/pupil_changes.sql): a build writes every crossing of the
-- pupils whose records changed in the last build of int_pupil_periods or whose
-- interventions changed since its own last build; everything here is computed within one
-- pupil.

{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy='append',
    on_schema_change='fail',
    pupil_change_state=['built_interventions'],
    pre_hook="{{ delete_changed_crossings(this, ref('int_pupil_periods'), ref('int_interventions_typed')) }}",
    post_hook=[
        "{{ remember_pupil_changes_seen(this, ref('int_pupil_periods')) }}",
        "{{ remember_intervention_hashes(this, ref('int_interventions_typed')) }}",
    ],
) }}

{%- set intensive_response_types = ['individual_attendance_plan', 'multi_professional_group'] %}
{%- set condition = changed_crossings_condition(this, ref('int_pupil_periods'),
                                                ref('int_interventions_typed'), 'pupil_series') %}

with

-- Only the columns read below (and by macro rate_change_windows): the CTE is read four
-- times, so DuckDB materialises it, and on a night on which every municipality delivers it
-- holds nearly every pupil's series.
series as (

    select
        student_key,
        school_year,
        period_end,
        scheduled_lessons,
        absent_lessons,
        tier,
        term,
        region_code,
        municipality_code,
        school_code,
        grade_band

    from {{ ref('int_pupil_ytd_series') }}
    {%- if condition is not none %} as pupil_series
    where {{ condition }}
    {%- endif %}

),

interventions as (

    select * from {{ ref('int_interventions_typed') }}

),

first_crossings as (

    select
        student_key,
        school_year,
        min(case when tier in ('targeted', 'intensive') then period_end end) as targeted_crossing_date,
        min(case when tier = 'intensive' then period_end end) as intensive_crossing_date

    from series

    group by
        student_key,
        school_year

    having min(case when tier in ('targeted', 'intensive') then period_end end) is not null

),

crossings as (

    select
        first_crossings.student_key,
        first_crossings.school_year,
        first_crossings.targeted_crossing_date,
        targeted_place.term as targeted_term,
        targeted_place.region_code as targeted_region_code,
        targeted_place.municipality_code as targeted_municipality_code,
        targeted_place.school_code as targeted_school_code,
        targeted_place.grade_band as targeted_grade_band,
        first_crossings.intensive_crossing_date,
        intensive_place.term as intensive_term,
        intensive_place.region_code as intensive_region_code,
        intensive_place.municipality_code as intensive_municipality_code,
        intensive_place.school_code as intensive_school_code,
        intensive_place.grade_band as intensive_grade_band

    from first_crossings

    inner join series as targeted_place
        on first_crossings.student_key = targeted_place.student_key
        and first_crossings.school_year = targeted_place.school_year
        and first_crossings.targeted_crossing_date = targeted_place.period_end

    left join series as intensive_place
        on first_crossings.student_key = intensive_place.student_key
        and first_crossings.school_year = intensive_place.school_year
        and first_crossings.intensive_crossing_date = intensive_place.period_end

),

timely_candidates as (

    select
        crossings.student_key,
        crossings.school_year,
        interventions.intervention_date,
        interventions.intervention_type,
        row_number() over (
            partition by crossings.student_key, crossings.school_year
            order by interventions.intervention_date, interventions.intervention_type
        ) as response_rank

    from crossings

    inner join interventions
        on crossings.student_key = interventions.student_key
        and interventions.tier in ('targeted', 'intensive')
        and interventions.intervention_date >= {{ add_days('crossings.targeted_crossing_date', -var('timely_before_days')) }}
        and interventions.intervention_date <= {{ add_days('crossings.targeted_crossing_date', var('timely_after_days')) }}

),

first_responses as (

    select * from timely_candidates where response_rank = 1

),

intensive_candidates as (

    select
        crossings.student_key,
        crossings.school_year,
        interventions.intervention_date,
        interventions.intervention_type,
        row_number() over (
            partition by crossings.student_key, crossings.school_year
            order by interventions.intervention_date, interventions.intervention_type
        ) as response_rank

    from crossings

    inner join interventions
        on crossings.student_key = interventions.student_key
        and interventions.intervention_type in ('{{ intensive_response_types | join("', '") }}')
        and interventions.intervention_date >= {{ add_days('crossings.intensive_crossing_date', -var('timely_before_days')) }}
        and interventions.intervention_date <= {{ add_days('crossings.intensive_crossing_date', var('intensive_after_days')) }}

),

intensive_responses as (

    select * from intensive_candidates where response_rank = 1

),

-- Rates before and after the first response (macro rate_change_windows: the windows and
-- their minimum, written once for the responded pupils here and the comparison group of
-- int_pupil_effect_windows).
change_rates as (

    {{ rate_change_windows('first_responses', 'intervention_date') }}

),

final as (

    select
        crossings.*,
        first_responses.intervention_date is not null as responded_targeted,
        first_responses.intervention_date as response_date,
        first_responses.intervention_type as response_type,
        case
            when first_responses.intervention_date is null then null
            when first_responses.intervention_date <= crossings.targeted_crossing_date then 0
            else {{ dbt.datediff('crossings.targeted_crossing_date', 'first_responses.intervention_date', 'day') }}
        end as response_lag_days,
        case
            when crossings.intensive_crossing_date is not null
                then intensive_responses.intervention_date is not null
        end as responded_intensive,
        intensive_responses.intervention_date as intensive_response_date,
        intensive_responses.intervention_type as intensive_response_type,
        change_rates.scheduled_lessons_before,
        change_rates.scheduled_lessons_after,
        change_rates.absence_rate_before,
        change_rates.absence_rate_after,
        change_rates.absence_rate_after - change_rates.absence_rate_before as rate_change_after_intervention

    from crossings

    left join first_responses
        on crossings.student_key = first_responses.student_key
        and crossings.school_year = first_responses.school_year

    left join intensive_responses
        on crossings.student_key = intensive_responses.student_key
        and crossings.school_year = intensive_responses.school_year

    left join change_rates
        on crossings.student_key = change_rates.student_key
        and crossings.school_year = change_rates.school_year

)

select * from final
