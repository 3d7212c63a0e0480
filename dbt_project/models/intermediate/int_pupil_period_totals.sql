-- A pupil's totals per place, grade band and period (week, month, term, school year) for
-- absence_rates (DESIGN §7/§8): a record counts in the period holding its period_end. One
-- pass over the pupil records: a pupil's totals per school, grade band and the part of an
-- ISO week that lies in one month; weeks and months add up these parts, terms and school
-- years add up months. A table of its own (it was a CTE of absence_rates): Spark inlines a
-- CTE into every branch of the roll-up that reads it, and the plan of the whole mart grew
-- past what its optimiser could hold (out of memory after eight minutes on six
-- municipalities); DuckDB writes it in seconds at national scale. Pupil-level, restricted.
--
-- Incremental on DuckDB: a build writes the (pupil, school year) rows whose records changed
-- in the last build of int_pupil_periods (macros/pupil_changes.sql), with the pupil numbers
-- the builds before it gave (macro pupil_numbers), and of those only the periods that end on
-- or after the pupil's first changed date (changed_from): a night's new day writes that
-- week, month, term and school year again, not the weeks and months before it. Weeks and
-- months are added up from the records from the start of changed_from's week or month;
-- terms and school years from those months and the pupil's months kept from earlier builds
-- (every month ending before changed_from is as it was). The municipality's coverage_end,
-- which a night moves for every pupil of a municipality that delivered, is joined in
-- absence_rates.

{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy='append',
    on_schema_change='fail',
    pupil_change_state=['pupil_numbers'],
    pre_hook="{{ delete_changed_pupils(this, ref('int_pupil_periods'), numbered=true, from_column='period_end') }}",
    post_hook=[
        "{{ remember_pupil_numbers(this, ref('int_pupil_periods')) }}",
        "{{ remember_pupil_changes_seen(this, ref('int_pupil_periods')) }}",
    ],
) }}

{%- set measures = [
    'scheduled_lessons', 'absent_lessons', 'illness_lessons', 'authorised_lessons',
    'unauthorised_lessons', 'unexplained_lessons', 'late_count',
] %}
{%- set measure_sums -%}
    {%- for measure in measures %}sum({{ measure }}) as {{ measure }}{% if not loop.last %},
        {% endif %}{% endfor -%}
{%- endset %}
{%- set pupil_columns = ['pupil_id', 'region_code', 'municipality_code', 'school_code',
                         'grade_band', 'school_year', 'changed_from'] %}
{%- set dated = pupil_change_mode(this, ref('int_pupil_periods')) == 'changed' %}
{%- set changed_pupils = sibling_relation(ref('int_pupil_periods'), 'changed_pupils') %}

with

-- The records the build reads, with the pupil's changed_from (null: every period).
pupil_periods as (

    {%- if dated %}
    select
        periods.*,
        changed.changed_from

    from {{ ref('int_pupil_periods') }} as periods

    inner join {{ changed_pupils }} as changed
        on periods.student_key = changed.student_key
        and periods.school_year = changed.school_year

    where changed.changed_from is null
        or periods.period_end >= least({{ week_start('changed.changed_from') }},
                                       {{ month_start('changed.changed_from') }})
    {%- else %}
    select
        *,
        cast(null as date) as changed_from

    from ({{ changed_pupil_periods(this, ref('int_pupil_periods')) }}) as periods
    {%- endif %}

),

-- Pupil keys are 64-character pseudonyms; on DuckDB every aggregation and distinct count
-- of absence_rates works on a dense integer per pupil instead (exact, kept from build to
-- build), which keeps the hash tables a fraction of the size at national scale
-- (macro pupil_numbers). The pupils new to this model have no records before their
-- changed_from (they had no rows in the build it reflects), so reading from there finds
-- the same new pupils as the post-hook that keeps the numbers.
pupils as (

    {{ pupil_numbers(this, ref('int_pupil_periods'), 'pupil_periods') }}

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
        pupil_periods.changed_from,
        {{ week_start('pupil_periods.period_end') }} as week_start,
        {{ month_start('pupil_periods.period_end') }} as month_start,
        {%- for measure in measures %}
        sum(pupil_periods.{{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from pupil_periods

    inner join pupils
        on pupil_periods.student_key = pupils.student_key

    group by
        pupils.pupil_id,
        pupil_periods.region_code,
        pupil_periods.municipality_code,
        pupil_periods.school_code,
        pupil_periods.grade_band,
        pupil_periods.school_year,
        pupil_periods.changed_from,
        {{ week_start('pupil_periods.period_end') }},
        {{ month_start('pupil_periods.period_end') }}

),

{#- Weeks and months both add up the week-within-month parts; only those ending on or after
    changed_from are written (an earlier one read from a mid-period start is partial). -#}
{%- for period_type, period_end in [('week', week_end('week_start')),
                                    ('month', month_end('month_start'))] %}

pupil_{{ period_type }}s as (

    select *

    from (
        select
            {{ pupil_columns | join(',\n            ') }},
            {{ period_type }}_start as period_start,
            {{ period_end }} as period_end,
            {{ measure_sums }}

        from pupil_week_parts

        group by
            {{ pupil_columns | join(',\n            ') }},
            {{ period_type }}_start
    ) as periods

    where changed_from is null
        or period_end >= changed_from

),
{%- endfor %}

-- Every month of a term or school year that the build writes: those just added up and, in
-- a build from changed_from on, the pupil's months before it, kept from earlier builds.
all_months as (

    select * from pupil_months
    {%- if dated %}

    union all

    select
        {%- for column in pupil_columns if column != 'changed_from' %}
        kept.{{ column }},
        {%- endfor %}
        changed.changed_from,
        kept.period_start,
        kept.period_end,
        {%- for measure in measures %}
        kept.{{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from {{ this }} as kept

    inner join {{ sibling_relation(this, 'pupil_numbers') }} as numbered
        on kept.pupil_id = numbered.pupil_id

    inner join {{ changed_pupils }} as changed
        on numbered.student_key = changed.student_key
        and kept.school_year = changed.school_year

    where kept.period_type = 'month'
        and changed.changed_from is not null
    {%- endif %}

),

dated_months as (

    select
        *,
        {{ term_start('period_start') }} as term_start,
        {{ term_end('period_start') }} as term_end,
        {{ school_year_start('period_start') }} as school_year_start,
        {{ school_year_end('period_start') }} as school_year_end

    from all_months

),

{%- set output_columns = pupil_columns | reject('equalto', 'changed_from') | list %}

pupil_period_totals as (

    select {{ output_columns | join(', ') }}, 'week' as period_type, period_start, period_end,
        {{ measures | join(', ') }}
    from pupil_weeks

    union all

    select {{ output_columns | join(', ') }}, 'month' as period_type, period_start, period_end,
        {{ measures | join(', ') }}
    from pupil_months

    {%- for period_type in ['term', 'school_year'] %}

    union all

    select
        {{ output_columns | join(',\n        ') }},
        '{{ period_type }}' as period_type,
        {{ period_type }}_start as period_start,
        {{ period_type }}_end as period_end,
        {{ measure_sums }}

    from dated_months

    where changed_from is null
        or {{ period_type }}_end >= changed_from

    group by
        {{ pupil_columns | join(',\n        ') }},
        {{ period_type }}_start,
        {{ period_type }}_end
    {%- endfor %}

)

select * from pupil_period_totals
