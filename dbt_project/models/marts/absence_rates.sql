-- Lesson-weighted absence rates (DESIGN §7/§8) for every level, period type and grade
-- band. A record counts in the period holding its period_end; `students` counts distinct
-- pupils with scheduled lessons in the period. data_through is the earliest coverage_end
-- among the municipalities with records in the row, and a period ending within 14 days of
-- it is provisional (§8.1). Unsuppressed: the publish step applies small-cell suppression
-- and sets `suppressed`.

{%- set measures = [
    'scheduled_lessons', 'absent_lessons', 'illness_lessons', 'authorised_lessons',
    'unauthorised_lessons', 'unexplained_lessons', 'late_count',
] %}
{%- set measure_sums -%}
    {%- for measure in measures %}sum({{ measure }}) as {{ measure }}{% if not loop.last %},
        {% endif %}{% endfor -%}
{%- endset %}
{#- coverage_end follows from municipality_code: carried along, it never splits a group. #}
{%- set pupil_columns = ['pupil_id', 'region_code', 'municipality_code', 'school_code',
                         'grade_band', 'school_year', 'coverage_end'] %}

with

pupil_periods as (

    select * from {{ ref('int_pupil_periods') }}

),

coverage as (

    select * from {{ ref('int_municipality_coverage') }}

),

-- Pupil keys are 64-character pseudonyms; every aggregation and distinct count below
-- works on a dense integer per pupil instead (exact, numbered afresh in each build), which
-- keeps the hash tables a fraction of the size at national scale.
pupils as (

    select
        student_key,
        row_number() over () as pupil_id

    from (select distinct student_key from pupil_periods)

),

-- One pass over the pupil records: a pupil's totals per school, grade band and the part of
-- an ISO week that lies in one month. Weeks and months both add up these parts, so the
-- pupil-day rows are read once, and terms and school years add up months.
pupil_week_parts as (

    select
        pupils.pupil_id,
        pupil_periods.region_code,
        pupil_periods.municipality_code,
        pupil_periods.school_code,
        pupil_periods.grade_band,
        pupil_periods.school_year,
        coverage.coverage_end,
        {{ week_start('pupil_periods.period_end') }} as week_start,
        {{ month_start('pupil_periods.period_end') }} as month_start,
        {%- for measure in measures %}
        sum(pupil_periods.{{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from pupil_periods

    inner join pupils
        on pupil_periods.student_key = pupils.student_key

    left join coverage
        on pupil_periods.municipality_code = coverage.municipality_code

    group by
        pupils.pupil_id,
        pupil_periods.region_code,
        pupil_periods.municipality_code,
        pupil_periods.school_code,
        pupil_periods.grade_band,
        pupil_periods.school_year,
        coverage.coverage_end,
        {{ week_start('pupil_periods.period_end') }},
        {{ month_start('pupil_periods.period_end') }}

),

{#- Weeks and months both add up the week-within-month parts. -#}
{%- for period_type, period_end in [('week', week_end('week_start')),
                                    ('month', month_end('month_start'))] %}

pupil_{{ period_type }}s as (

    select
        {{ pupil_columns | join(',\n        ') }},
        {{ period_type }}_start as period_start,
        {{ period_end }} as period_end,
        {{ measure_sums }}

    from pupil_week_parts

    group by
        {{ pupil_columns | join(',\n        ') }},
        {{ period_type }}_start

),
{%- endfor %}

dated_months as (

    select
        *,
        {{ term_start('period_start') }} as term_start,
        {{ term_end('period_start') }} as term_end,
        {{ school_year_start('period_start') }} as school_year_start,
        {{ school_year_end('period_start') }} as school_year_end

    from pupil_months

),

pupil_period_totals as (

    select {{ pupil_columns | join(', ') }}, 'week' as period_type, period_start, period_end,
        {{ measures | join(', ') }}
    from pupil_weeks

    union all

    select {{ pupil_columns | join(', ') }}, 'month' as period_type, period_start, period_end,
        {{ measures | join(', ') }}
    from pupil_months

    {%- for period_type in ['term', 'school_year'] %}

    union all

    select
        {{ pupil_columns | join(',\n        ') }},
        '{{ period_type }}' as period_type,
        {{ period_type }}_start as period_start,
        {{ period_type }}_end as period_end,
        {{ measure_sums }}

    from dated_months

    group by
        {{ pupil_columns | join(',\n        ') }},
        {{ period_type }}_start,
        {{ period_type }}_end
    {%- endfor %}

),

-- Every level (reporting_levels()) with and without the grade band ('all') in one
-- aggregation: a grouping set per level and band, so the pupil totals are read once
-- rather than once per level, and 'all' needs no second copy of them.
level_sets as (

    select
        {{ code_columns() | join(',\n        ') }},
        school_year,
        period_type,
        period_start,
        period_end,
        grade_band,
        {%- for code in code_columns() + ['grade_band'] %}
        grouping({{ code }}) as rolled_up_{{ code }},
        {%- endfor %}
        count(distinct case when scheduled_lessons > 0 then pupil_id end) as students,
        min(coverage_end) as data_through,
        {{ measure_sums }}

    from pupil_period_totals

    group by
        school_year,
        period_type,
        period_start,
        period_end,
        grouping sets (
            {%- for level in reporting_levels() %}
            ({{ (level.codes + ['grade_band']) | join(', ') }}),
            ({{ level.codes | join(', ') }}){% if not loop.last %},{% endif %}
            {%- endfor %}
        )

),

level_totals as (

    select
        case
            {%- for level in reporting_levels() %}
            when {% for code in code_columns() -%}
                rolled_up_{{ code }} = {{ 0 if code in level.codes else 1 }}{% if not loop.last %} and {% endif %}
            {%- endfor %} then '{{ level.name }}'
            {%- endfor %}
        end as level,
        {{ code_columns() | join(',\n        ') }},
        school_year,
        period_type,
        period_start,
        period_end,
        case when rolled_up_grade_band = 1 then 'all' else grade_band end as grade_band,
        students,
        data_through,
        {{ measures | join(',\n        ') }}

    from level_sets

    -- A band's rows only for pupils with a band; a level's rows only where its codes are
    -- known (reporting_levels: such rows still count on the levels above).
    where (rolled_up_grade_band = 1 or grade_band is not null)
        {%- for code in code_columns() %}
        and (rolled_up_{{ code }} = 1 or {{ code }} is not null)
        {%- endfor %}

),

final as (

    select
        level_totals.level,
        {{ place_columns('level_totals') }}
        level_totals.school_code,
        level_totals.school_year,
        level_totals.period_type,
        level_totals.period_start,
        level_totals.period_end,
        level_totals.grade_band,
        cast(level_totals.students as {{ dbt.type_bigint() }}) as students,
        cast(level_totals.scheduled_lessons as double) as scheduled_lessons,
        cast(level_totals.absent_lessons as double) as absent_lessons,
        {{ safe_ratio('level_totals.absent_lessons', 'level_totals.scheduled_lessons') }}
            as absence_rate,
        {{ safe_ratio('level_totals.illness_lessons', 'level_totals.scheduled_lessons') }}
            as illness_rate,
        {{ safe_ratio('level_totals.authorised_lessons', 'level_totals.scheduled_lessons') }}
            as authorised_rate,
        {{ safe_ratio('level_totals.unauthorised_lessons', 'level_totals.scheduled_lessons') }}
            as unauthorised_rate,
        {{ safe_ratio('level_totals.unexplained_lessons', 'level_totals.scheduled_lessons') }}
            as unexplained_rate,
        cast(round(level_totals.late_count) as {{ dbt.type_bigint() }}) as late_count,
        level_totals.data_through,
        {{ is_provisional('level_totals.period_end', 'level_totals.data_through') }}
            as provisional,
        false as suppressed

    from level_totals

    {{ place_joins('level_totals') }}

)

select * from final
