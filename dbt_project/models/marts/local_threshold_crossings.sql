-- Crossings of municipal absence ladders in lessons (DESIGN §7.2), per municipality (and
-- its schools), school year, term and threshold, for the municipalities with ladders
-- (int_local_thresholds) only. A pupil crosses a threshold on the first date of the school
-- year on which their year-to-date absent lessons reach it while their record of that date
-- places them in the municipality; they count there, in that school and in the term of the
-- crossing date (term `all` = the school year). Responded: any intervention dated from 14
-- days before to 21 days after the crossing, as for the 10 % crossing. Every place, term and
-- threshold with pupil records has a row (zeros when nobody crossed).

{%- set local_levels = reporting_levels() | selectattr('name', 'in', ['school', 'municipality']) | list %}

with

series as (

    select * from {{ ref('int_pupil_ytd_series') }}

),

interventions as (

    select * from {{ ref('int_interventions_typed') }}

),

thresholds as (

    select * from {{ ref('int_local_thresholds') }}

),

-- The year-to-date series of pupils while they are in a municipality with a ladder.
laddered_series as (

    select
        series.*,
        thresholds.threshold_lessons

    from series

    inner join thresholds
        on series.municipality_code = thresholds.municipality_code

),

first_crossings as (

    select
        student_key,
        school_year,
        municipality_code,
        threshold_lessons,
        min(period_end) as crossing_date

    from laddered_series

    where ytd_absent_lessons >= threshold_lessons

    group by
        student_key,
        school_year,
        municipality_code,
        threshold_lessons

),

-- Each crossing where the pupil's record of the crossing date places them. The place is
-- read from the model, not the CTE series: a CTE read twice is materialised whole (every
-- pupil's series, also when no municipality has a ladder).
crossings as (

    select
        first_crossings.student_key,
        first_crossings.school_year,
        first_crossings.threshold_lessons,
        first_crossings.crossing_date,
        place.term,
        place.region_code,
        place.municipality_code,
        place.school_code

    from first_crossings

    inner join {{ ref('int_pupil_ytd_series') }} as place
        on first_crossings.student_key = place.student_key
        and first_crossings.school_year = place.school_year
        and first_crossings.crossing_date = place.period_end

),

responses as (

    select
        crossings.student_key,
        crossings.school_year,
        crossings.municipality_code,
        crossings.threshold_lessons,
        min(interventions.intervention_date) as response_date

    from crossings

    inner join interventions
        on crossings.student_key = interventions.student_key
        and interventions.intervention_date >= {{ add_days('crossings.crossing_date', -var('timely_before_days')) }}
        and interventions.intervention_date <= {{ add_days('crossings.crossing_date', var('timely_after_days')) }}

    group by
        crossings.student_key,
        crossings.school_year,
        crossings.municipality_code,
        crossings.threshold_lessons

),

places as (

    select distinct
        laddered_series.region_code,
        laddered_series.municipality_code,
        laddered_series.school_code,
        laddered_series.school_year,
        laddered_series.term,
        laddered_series.threshold_lessons

    from laddered_series

),

crossing_events as (

    select
        'population' as event,
        cast(null as {{ dbt.type_string() }}) as student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        threshold_lessons,
        cast(null as {{ dbt.type_boolean() }}) as responded,
        cast(null as {{ dbt.type_bigint() }}) as response_lag_days

    from places

    union all

    select
        'crossing' as event,
        crossings.student_key,
        crossings.region_code,
        crossings.municipality_code,
        crossings.school_code,
        crossings.school_year,
        crossings.term,
        crossings.threshold_lessons,
        responses.response_date is not null as responded,
        cast(case
            when responses.response_date is null then null
            when responses.response_date <= crossings.crossing_date then 0
            else {{ dbt.datediff('crossings.crossing_date', 'responses.response_date', 'day') }}
        end as {{ dbt.type_bigint() }}) as response_lag_days

    from crossings

    left join responses
        on crossings.student_key = responses.student_key
        and crossings.school_year = responses.school_year
        and crossings.municipality_code = responses.municipality_code
        and crossings.threshold_lessons = responses.threshold_lessons

),

{%- set aggregates %}
    count(distinct case when event = 'crossing' then student_key end) as crossed,
    count(distinct case when event = 'crossing' and responded then student_key end) as responded,
    {{ median("case when event = 'crossing' and responded then response_lag_days end") }}
        as median_response_lag_days
{%- endset %}

-- Every level, each term and `all` (macro rollup).
level_totals as (

    {{ rollup('crossing_events', ['school_year', 'threshold_lessons'], aggregates, all_of='term', levels=local_levels) }}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.term,
        level_totals.threshold_lessons,
        thresholds.label,
        cast(level_totals.crossed as {{ dbt.type_bigint() }}) as crossed,
        cast(level_totals.responded as {{ dbt.type_bigint() }}) as responded,
        {{ safe_ratio('level_totals.responded', 'level_totals.crossed') }}
            as timely_response_rate,
        cast(level_totals.median_response_lag_days as double) as median_response_lag_days,
        false as suppressed

    from level_totals

    inner join thresholds
        on level_totals.municipality_code = thresholds.municipality_code
        and level_totals.threshold_lessons = thresholds.threshold_lessons

    {{ place_joins('level_totals') }}

)

select * from final
