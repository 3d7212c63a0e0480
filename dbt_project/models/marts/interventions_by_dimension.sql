-- Interventions by dimension of the attendance model (DESIGN §6.2/§8.1): wellbeing,
-- learning, cooperation, awareness, and `all`, per level, school year and term. `students`
-- counts distinct pupils, so a pupil who got support of two kinds is one pupil in `all`:
-- "how many pupils got support of each kind" without double counting.

with

interventions as (

    select * from {{ ref('int_interventions_typed') }}

),

termed as (

    select student_key, region_code, municipality_code, school_code, school_year, term,
        dimension
    from interventions

    union all

    select student_key, region_code, municipality_code, school_code, school_year,
        'all' as term, dimension
    from interventions

),

dimensioned as (

    select * from termed

    union all

    select student_key, region_code, municipality_code, school_code, school_year, term,
        'all' as dimension
    from termed

),

level_totals as (

    {%- for level in reporting_levels() %}

    select
        {{ level_columns(level) }}
        school_year,
        term,
        dimension,
        count(*) as interventions,
        count(distinct student_key) as students

    from dimensioned

    where {{ level_filter(level) }}

    group by
        {{ level_group_by(level, ['school_year', 'term', 'dimension']) }}

    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

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
