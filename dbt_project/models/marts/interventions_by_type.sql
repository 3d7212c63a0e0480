-- Interventions of each type (DESIGN §6.2/§8) per level, school year and term (`all` =
-- the whole school year), placed in the school of the enrolment covering the date, with the
-- type's Finnish name from the attendance model (§8.1).

with

interventions as (

    select * from {{ ref('int_interventions_typed') }}

),

intervention_types as (

    select * from {{ ref('intervention_types') }}

),

{%- set aggregates %}
    count(*) as interventions,
    count(distinct student_key) as students
{%- endset %}

-- Every level, each term and `all` (macro rollup).
level_totals as (

    {{ rollup('interventions', ['school_year', 'intervention_type', 'tier', 'dimension'], aggregates, all_of='term') }}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.term,
        level_totals.intervention_type,
        intervention_types.name_fi as intervention_name_fi,
        level_totals.tier,
        level_totals.dimension,
        cast(level_totals.interventions as {{ dbt.type_bigint() }}) as interventions,
        cast(level_totals.students as {{ dbt.type_bigint() }}) as students,
        false as suppressed

    from level_totals

    left join intervention_types
        on level_totals.intervention_type = intervention_types.intervention_type

    {{ place_joins('level_totals') }}

)

select * from final
