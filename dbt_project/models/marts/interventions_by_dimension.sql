-- Interventions by dimension of the attendance model (DESIGN §6.2/§8.1): wellbeing,
-- learning, cooperation, awareness, and `all`, per level, school year and term. `students`
-- counts distinct pupils, so a pupil who got support of two kinds is one pupil in `all`:
-- "how many pupils got support of each kind" without double counting.

with

interventions as (

    select * from {{ ref('int_interventions_typed') }}

),

{%- set aggregates %}
    count(*) as interventions,
    count(distinct student_key) as students
{%- endset %}

-- Every level, each term and dimension and `all` (macro rollup).
level_totals as (

    {{ rollup('interventions', ['school_year'], aggregates, all_of=['term', 'dimension']) }}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.term,
        level_totals.dimension,
        cast(level_totals.interventions as {{ dbt.type_bigint() }}) as interventions,
        cast(level_totals.students as {{ dbt.type_bigint() }}) as students,
        false as suppressed

    from level_totals

    {{ place_joins('level_totals') }}

)

select * from final
