-- Evaluation of the attendance model (DESIGN §7.2): per level, school year and type of the
-- pupil's first responding intervention (plus `all`), the mean absence rate in the four
-- weeks before and after it and the mean change, beside a comparison group - pupils who
-- crossed 10 % and got no response in [c - 14, c + 21], measured around c + 7 - and the
-- difference. Pupils count where and in the school year they crossed; a pupil without 10
-- scheduled lessons in either window is left out (int_pupil_effect_windows). Every row of
-- a place carries that place's comparison group. Descriptive, not causal.

with

effects as (

    select * from {{ ref('int_pupil_effect_windows') }}

),

intervention_types as (

    select * from {{ ref('intervention_types') }}

),

comparison_effects as (

    select * from effects where effect_group = 'comparison'

),

{#- One row per pupil and school year (tested on int_pupil_effect_windows). #}
{%- set treated_aggregates %}
    count(case when effect_group = 'responded' and rate_change is not null then 1 end)
        as students_in_change,
    {{ exact_mean("case when effect_group = 'responded' and rate_change is not null
        then absence_rate_before end") }} as mean_rate_before,
    {{ exact_mean("case when effect_group = 'responded' and rate_change is not null
        then absence_rate_after end") }} as mean_rate_after,
    {{ exact_mean("case when effect_group = 'responded' then rate_change end") }} as mean_change
{%- endset %}

-- Every level, each type of first responding intervention and `all` (macro rollup). Every
-- crossing opens the place's `all` row; only responded pupils have a type.
treated_totals as (

    {{ rollup('effects', ['school_year'], treated_aggregates, all_of='intervention_type') }}

),

comparison_totals as (

    {{ rollup('comparison_effects', ['school_year'],
              ['count(rate_change) as comparison_students',
               exact_mean('rate_change') ~ ' as comparison_mean_change']) }}

),

level_totals as (

    select
        treated_totals.*,
        coalesce(comparison_totals.comparison_students, 0) as comparison_students,
        comparison_totals.comparison_mean_change

    from treated_totals

    left join comparison_totals
        on treated_totals.level = comparison_totals.level
        and treated_totals.school_year = comparison_totals.school_year
        {%- for code in code_columns() %}
        and coalesce(treated_totals.{{ code }}, '') = coalesce(comparison_totals.{{ code }}, '')
        {%- endfor %}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.intervention_type,
        intervention_types.name_fi as intervention_name_fi,
        cast(level_totals.students_in_change as {{ dbt.type_bigint() }}) as students_in_change,
        cast(level_totals.mean_rate_before as double) as mean_rate_before,
        cast(level_totals.mean_rate_after as double) as mean_rate_after,
        cast(level_totals.mean_change as double) as mean_change,
        cast(level_totals.comparison_students as {{ dbt.type_bigint() }}) as comparison_students,
        cast(level_totals.comparison_mean_change as double) as comparison_mean_change,
        cast(level_totals.mean_change - level_totals.comparison_mean_change as double)
            as difference,
        false as suppressed

    from level_totals

    left join intervention_types
        on level_totals.intervention_type = intervention_types.intervention_type

    {{ place_joins('level_totals') }}

)

select * from final
