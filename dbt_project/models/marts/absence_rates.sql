-- Lesson-weighted absence rates (DESIGN §7/§8) for every level, period type and grade
-- band. A record counts in the period holding its period_end; `students` counts distinct
-- pupils with scheduled lessons in the period. data_through is the earliest coverage_end
-- among the municipalities with records in the row, and a period ending within 14 days of
-- it is provisional (§8.1). Unsuppressed: the publish step applies small-cell suppression
-- and sets `suppressed`.
--
-- On DuckDB a build rolls up only the periods whose pupil totals changed since the last one
-- and sets data_through and provisional on every row (macros/period_changes.sql): a night
-- rebuilds the weeks, months, term and school year its windows touched.

{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_periods_to_build(this) }}",
    post_hook=[
        "{{ remember_periods(this, ref('int_municipality_coverage')) }}",
        "{{ remember_inputs(this) }}",
    ],
) }}

{%- set measures = [
    'scheduled_lessons', 'absent_lessons', 'illness_lessons', 'authorised_lessons',
    'unauthorised_lessons', 'unexplained_lessons', 'late_count',
] %}
{%- set measure_sums = [] %}
{%- for measure in measures %}{% do measure_sums.append('sum(' ~ measure ~ ') as ' ~ measure) %}{% endfor %}

{%- set full_build %}
with

coverage as (

    select * from {{ ref('int_municipality_coverage') }}

),

-- coverage_end follows from municipality_code: carried along, it never splits a group.
pupil_period_totals as (

    select
        totals.*,
        coverage.coverage_end

    from {{ ref('int_pupil_period_totals') }} as totals

    left join coverage
        on totals.municipality_code = coverage.municipality_code

    {{ periods_filter_marker() }}

),

-- Every level with and without the grade band ('all'): macro rollup.
level_totals as (

    {{ rollup('pupil_period_totals',
              ['school_year', 'period_type', 'period_start', 'period_end'],
              ['count(distinct case when scheduled_lessons > 0 then pupil_id end) as students',
               'min(coverage_end) as data_through'] + measure_sums,
              all_of='grade_band') }}

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
{%- endset %}

{%- set periods = periods_to_build(this, model, full_build, ref('int_pupil_period_totals'),
                                  skip=['int_pupil_period_totals', 'int_municipality_coverage']) %}
{{ full_build | replace(periods_filter_marker(), periods_filter('totals', periods)) }}
