-- Lesson-weighted absence rates (DESIGN §7/§8) for every level, period type and grade
-- band. A record counts in the period holding its period_end; `students` counts distinct
-- pupils with scheduled lessons in the period. Unsuppressed: the publish step applies
-- small-cell suppression and sets `suppressed`.

{%- set measures = [
    'scheduled_lessons', 'absent_lessons', 'illness_lessons', 'authorised_lessons',
    'unauthorised_lessons', 'unexplained_lessons', 'late_count',
] %}

with

pupil_periods as (

    select * from {{ ref('int_pupil_periods') }}

),

-- Pupil totals per week and per month first: the level aggregation below then reads a few
-- rows per pupil instead of one per pupil-day. A month lies inside one term and one school
-- year, so terms and school years add up the pupil's months rather than their days again.
{%- set pupil_columns = ['student_key', 'region_code', 'municipality_code', 'school_code',
                         'grade_band', 'school_year'] %}

dated_periods as (

    select
        *,
        {{ week_start('period_end') }} as week_start,
        {{ week_end('period_end') }} as week_end,
        {{ month_start('period_end') }} as month_start,
        {{ month_end('period_end') }} as month_end

    from pupil_periods

),

pupil_weeks as (

    select
        {{ pupil_columns | join(',\n        ') }},
        week_start as period_start,
        week_end as period_end,
        {%- for measure in measures %}
        sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from dated_periods

    group by
        {{ pupil_columns | join(',\n        ') }},
        week_start,
        week_end

),

pupil_months as (

    select
        {{ pupil_columns | join(',\n        ') }},
        month_start as period_start,
        month_end as period_end,
        {%- for measure in measures %}
        sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from dated_periods

    group by
        {{ pupil_columns | join(',\n        ') }},
        month_start,
        month_end

),

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
        {%- for measure in measures %}
        sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from dated_months

    group by
        {{ pupil_columns | join(',\n        ') }},
        {{ period_type }}_start,
        {{ period_type }}_end
    {%- endfor %}

),

grade_banded as (

    select * from pupil_period_totals where grade_band is not null

    union all

    select
        student_key,
        region_code,
        municipality_code,
        school_code,
        'all' as grade_band,
        school_year,
        period_type,
        period_start,
        period_end,
        {%- for measure in measures %}
        {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from pupil_period_totals

),

level_totals as (

    {%- for level in reporting_levels() %}

    select
        {{ level_columns(level) }}
        school_year,
        period_type,
        period_start,
        period_end,
        grade_band,
        count(distinct case when scheduled_lessons > 0 then student_key end) as students,
        {%- for measure in measures %}
        sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from grade_banded

    where {{ level_filter(level) }}

    group by
        {{ level_group_by(level, ['school_year', 'period_type', 'period_start', 'period_end', 'grade_band']) }}

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
        period_type,
        period_start,
        period_end,
        grade_band,
        cast(students as {{ dbt.type_bigint() }}) as students,
        cast(scheduled_lessons as decimal(18, 3)) as scheduled_lessons,
        cast(absent_lessons as decimal(18, 3)) as absent_lessons,
        {{ safe_ratio('absent_lessons', 'scheduled_lessons') }} as absence_rate,
        {{ safe_ratio('illness_lessons', 'scheduled_lessons') }} as illness_rate,
        {{ safe_ratio('authorised_lessons', 'scheduled_lessons') }} as authorised_rate,
        {{ safe_ratio('unauthorised_lessons', 'scheduled_lessons') }} as unauthorised_rate,
        {{ safe_ratio('unexplained_lessons', 'scheduled_lessons') }} as unexplained_rate,
        cast(late_count as decimal(18, 3)) as late_count,
        false as suppressed

    from level_totals

)

select * from final
