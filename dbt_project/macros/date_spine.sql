{#- Date spines. `expand_dates` is a set-returning select-list expression: it turns one
    input row into one row per date from start to end (inclusive) in steps of `step_days`.
    It is the only engine-specific piece of the spines, hence dispatched. Cast the result
    to date in the enclosing query. -#}

{% macro expand_dates(start_date, end_date, step_days=1) -%}
    {{ return(adapter.dispatch('expand_dates', 'absence')(start_date, end_date, step_days)) }}
{%- endmacro %}

{% macro default__expand_dates(start_date, end_date, step_days) -%}
    generate_series({{ start_date }}, {{ end_date }}, interval '{{ step_days }} days')
{%- endmacro %}

{% macro duckdb__expand_dates(start_date, end_date, step_days) -%}
    unnest(generate_series(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp),
        interval '{{ step_days }} days'
    ))
{%- endmacro %}

{% macro spark__expand_dates(start_date, end_date, step_days) -%}
    explode(sequence(
        cast({{ start_date }} as date),
        cast({{ end_date }} as date),
        interval {{ step_days }} days
    ))
{%- endmacro %}

{#- The Sundays from the first one on or after `start_date` up to `end_date`. -#}
{% macro expand_sundays(start_date, end_date) -%}
    {{ expand_dates(week_end(start_date), end_date, 7) }}
{%- endmacro %}
