-- Pupils per attendance tier on every Sunday of the school year up to the latest data
-- (DESIGN §7/§8), for every level and grade band. Pending pupils (below the minimum
-- year-to-date denominator) are left out of students_with_tier and the shares. "10 % or
-- more" is targeted + intensive; data_through and provisional as in absence_rates (§8.1).

{%- set tiers = ['universal', 'targeted', 'intensive'] %}
{%- set tier_counts = [] %}
{%- for tier in tiers %}
{%- do tier_counts.append("count(case when tier = '" ~ tier ~ "' then 1 end) as " ~ tier ~ "_students") %}
{%- endfor %}

with

snapshots as (

    select * from {{ ref('int_pupil_tier_snapshots') }}

),

coverage as (

    select * from {{ ref('int_municipality_coverage') }}

),

covered_snapshots as (

    select
        snapshots.*,
        coverage.coverage_end

    from snapshots

    left join coverage
        on snapshots.municipality_code = coverage.municipality_code

),

-- Every level, each grade band and `all` (macro rollup). A pupil has one snapshot per
-- school year and Sunday (tested on int_pupil_tier_snapshots), so within a group counting
-- rows counts pupils: no distinct hash sets over millions of pupil-Sundays.
level_totals as (

    {{ rollup('covered_snapshots', ['school_year', 'as_of_date'],
              ["count(case when tier <> 'pending' then 1 end) as students_with_tier",
               'min(coverage_end) as data_through']
              + tier_counts, all_of='grade_band') }}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.as_of_date,
        level_totals.grade_band,
        cast(level_totals.students_with_tier as {{ dbt.type_bigint() }}) as students_with_tier,
        cast(level_totals.universal_students as {{ dbt.type_bigint() }}) as universal_students,
        cast(level_totals.targeted_students as {{ dbt.type_bigint() }}) as targeted_students,
        cast(level_totals.intensive_students as {{ dbt.type_bigint() }}) as intensive_students,
        {{ safe_ratio('level_totals.targeted_students', 'level_totals.students_with_tier') }}
            as targeted_share,
        {{ safe_ratio('level_totals.intensive_students', 'level_totals.students_with_tier') }}
            as intensive_share,
        cast(level_totals.targeted_students + level_totals.intensive_students
             as {{ dbt.type_bigint() }}) as students_10pct_or_more,
        {{ safe_ratio('level_totals.targeted_students + level_totals.intensive_students',
                      'level_totals.students_with_tier') }} as share_10pct_or_more,
        level_totals.data_through,
        {{ is_provisional('level_totals.as_of_date', 'level_totals.data_through') }}
            as provisional,
        false as suppressed

    from level_totals

    {{ place_joins('level_totals') }}

)

select * from final
