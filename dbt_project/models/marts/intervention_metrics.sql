-- Responses to threshold crossings (DESIGN §7/§8) per level, school year and term. A
-- pupil counts in the place and term of their crossing date (10 % and 20 % crossings
-- separately); term `all` is the whole school year. Every place and term with pupil
-- records has a row, so "nobody crossed" reads as 0 rather than as a missing row.

with

crossings as (

    select * from {{ ref('int_pupil_crossings') }}

),

series as (

    select * from {{ ref('int_pupil_ytd_series') }}

),

places as (

    select distinct
        region_code,
        municipality_code,
        school_code,
        school_year,
        term

    from series

),

-- One row per crossing, placed where the pupil was on the crossing date.
crossing_events as (

    select
        'population' as event,
        cast(null as {{ dbt.type_string() }}) as student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        term,
        cast(null as {{ dbt.type_boolean() }}) as responded,
        cast(null as {{ dbt.type_bigint() }}) as response_lag_days,
        cast(null as double) as rate_change_after_intervention

    from places

    union all

    select
        'targeted' as event,
        student_key,
        targeted_region_code as region_code,
        targeted_municipality_code as municipality_code,
        targeted_school_code as school_code,
        school_year,
        targeted_term as term,
        responded_targeted as responded,
        cast(response_lag_days as {{ dbt.type_bigint() }}) as response_lag_days,
        rate_change_after_intervention

    from crossings

    union all

    select
        'intensive' as event,
        student_key,
        intensive_region_code as region_code,
        intensive_municipality_code as municipality_code,
        intensive_school_code as school_code,
        school_year,
        intensive_term as term,
        responded_intensive as responded,
        cast(null as {{ dbt.type_bigint() }}) as response_lag_days,
        cast(null as double) as rate_change_after_intervention

    from crossings

    where intensive_crossing_date is not null

),

{%- set aggregates %}
    count(distinct case when event = 'targeted' then student_key end) as crossed_targeted,
    count(distinct case when event = 'targeted' and responded then student_key end) as responded_targeted,
    {{ median("case when event = 'targeted' and responded then response_lag_days end") }}
        as median_response_lag_days,
    count(distinct case when event = 'intensive' then student_key end) as crossed_intensive,
    count(distinct case when event = 'intensive' and responded then student_key end) as responded_intensive,
    {{ exact_mean("case when event = 'targeted' then rate_change_after_intervention end") }}
        as mean_rate_change_after_intervention,
    count(distinct case
        when event = 'targeted' and rate_change_after_intervention is not null
            then student_key
    end) as students_in_change
{%- endset %}

-- Every level, each term and `all` (macro rollup).
level_totals as (

    {{ rollup('crossing_events', ['school_year'], aggregates, all_of='term') }}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.term,
        cast(level_totals.crossed_targeted as {{ dbt.type_bigint() }}) as crossed_targeted,
        cast(level_totals.responded_targeted as {{ dbt.type_bigint() }}) as responded_targeted,
        {{ safe_ratio('level_totals.responded_targeted', 'level_totals.crossed_targeted') }}
            as timely_response_rate,
        cast(level_totals.median_response_lag_days as double) as median_response_lag_days,
        cast(level_totals.crossed_intensive as {{ dbt.type_bigint() }}) as crossed_intensive,
        cast(level_totals.responded_intensive as {{ dbt.type_bigint() }})
            as responded_intensive,
        {{ safe_ratio('level_totals.responded_intensive', 'level_totals.crossed_intensive') }}
            as intensive_response_rate,
        cast(level_totals.mean_rate_change_after_intervention as double)
            as mean_rate_change_after_intervention,
        cast(level_totals.students_in_change as {{ dbt.type_bigint() }}) as students_in_change,
        false as suppressed

    from level_totals

    {{ place_joins('level_totals') }}

)

select * from final
