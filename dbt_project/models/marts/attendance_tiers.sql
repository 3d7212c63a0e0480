-- Pupils per attendance tier on every Sunday of the school year up to the latest data
-- (DESIGN §7/§8), for every level and grade band. Pending pupils (below the minimum
-- year-to-date denominator) are left out of students_with_tier and the shares.

{%- set tiers = ['universal', 'targeted', 'intensive'] %}

with

snapshots as (

    select * from {{ ref('int_pupil_tier_snapshots') }}

),

grade_banded as (

    select
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        as_of_date,
        grade_band,
        tier

    from snapshots

    where grade_band is not null

    union all

    select
        student_key,
        region_code,
        municipality_code,
        school_code,
        school_year,
        as_of_date,
        'all' as grade_band,
        tier

    from snapshots

),

level_totals as (

    {%- for level in reporting_levels() %}

    select
        {{ level_columns(level) }}
        school_year,
        as_of_date,
        grade_band,
        {#- A pupil has one snapshot per school year and Sunday (tested on
            int_pupil_tier_snapshots), so within a group counting rows counts pupils: no
            distinct hash sets over millions of pupil-Sundays. #}
        count(case when tier <> 'pending' then 1 end) as students_with_tier,
        {%- for tier in tiers %}
        count(case when tier = '{{ tier }}' then 1 end) as {{ tier }}_students{% if not loop.last %},{% endif %}
        {%- endfor %}

    from grade_banded

    where {{ level_filter(level) }}

    group by
        {{ level_group_by(level, ['school_year', 'as_of_date', 'grade_band']) }}

    {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),

final as (

    select
        level,
        region_code,
        municipality_code,
        school_code,
        school_year,
        as_of_date,
        grade_band,
        cast(students_with_tier as {{ dbt.type_bigint() }}) as students_with_tier,
        cast(universal_students as {{ dbt.type_bigint() }}) as universal_students,
        cast(targeted_students as {{ dbt.type_bigint() }}) as targeted_students,
        cast(intensive_students as {{ dbt.type_bigint() }}) as intensive_students,
        {{ safe_ratio('targeted_students', 'students_with_tier') }} as targeted_share,
        {{ safe_ratio('intensive_students', 'students_with_tier') }} as intensive_share,
        false as suppressed

    from level_totals

)

select * from final
