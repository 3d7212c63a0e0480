-- Support caseload (DESIGN §7.2): on every Sunday of the school year up to the latest data,
-- per level and grade band like attendance_tiers, how many pupils await a targeted or an
-- intensive response and how many of those waits are overdue - what a welfare team has to
-- staff for next week. A pupil counts where their snapshot places them on the Sunday
-- (int_pupil_tier_snapshots); the waits come from int_pupil_caseload.

{%- set counts = ['awaiting_targeted', 'overdue_targeted', 'awaiting_intensive', 'overdue_intensive'] %}

{%- set wait_counts = [] %}
{%- for count in counts %}
{%- do wait_counts.append('count(case when ' ~ count ~ ' then 1 end) as ' ~ count) %}
{%- endfor %}

with

snapshots as (

    select * from {{ ref('int_pupil_tier_snapshots') }}

),

caseload as (

    select * from {{ ref('int_pupil_caseload') }}

),

-- Every snapshot, with the pupil's waits on that Sunday (none unless they crossed 10 %).
pupil_sundays as (

    select
        snapshots.student_key,
        snapshots.region_code,
        snapshots.municipality_code,
        snapshots.school_code,
        snapshots.school_year,
        snapshots.as_of_date,
        snapshots.grade_band,
        snapshots.tier,
        {%- for count in counts %}
        coalesce(caseload.{{ count }}, false) as {{ count }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from snapshots

    left join caseload
        on snapshots.student_key = caseload.student_key
        and snapshots.school_year = caseload.school_year
        and snapshots.as_of_date = caseload.as_of_date

),

-- Every level, each grade band and `all` (macro rollup). One snapshot per pupil, school
-- year and Sunday: counting rows counts pupils.
level_totals as (

    {{ rollup('pupil_sundays', ['school_year', 'as_of_date'],
              ["count(case when tier <> 'pending' then 1 end) as students_with_tier"]
              + wait_counts, all_of='grade_band') }}

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
        {%- for count in counts %}
        cast(level_totals.{{ count }} as {{ dbt.type_bigint() }}) as {{ count }},
        {%- endfor %}
        false as suppressed

    from level_totals

    {{ place_joins('level_totals') }}

)

select * from final
