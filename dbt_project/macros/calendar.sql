{#- Calendar rules of DESIGN §7, written once with dbt's cross-database macros so that the
    same project runs on DuckDB and on Spark. Every macro returns a `date` expression. -#}

{#- Date arithmetic on dates. dbt's cross-database dateadd works on timestamps, and on
    Spark it repeats its argument three times: nested four deep (term_end), one model's SQL
    grew to 1.5 MB and past what Spark's code generator compiles. Spark's own date_add and
    add_months take and return dates. -#}
{% macro add_days(date_expr, days) -%}
    {{ return(adapter.dispatch('add_days', 'absence')(date_expr, days)) }}
{%- endmacro %}

{% macro default__add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{% macro spark__add_days(date_expr, days) -%}
    date_add({{ date_expr }}, {{ days }})
{%- endmacro %}

{% macro add_months_to(date_expr, months) -%}
    {{ return(adapter.dispatch('add_months_to', 'absence')(date_expr, months)) }}
{%- endmacro %}

{% macro default__add_months_to(date_expr, months) -%}
    cast({{ dbt.dateadd('month', months, date_expr) }} as date)
{%- endmacro %}

{% macro spark__add_months_to(date_expr, months) -%}
    add_months({{ date_expr }}, {{ months }})
{%- endmacro %}

{#- Monday of the ISO week holding the date. -#}
{% macro week_start(date_expr) -%}
    cast({{ dbt.date_trunc('week', date_expr) }} as date)
{%- endmacro %}

{#- Sunday of the ISO week holding the date: the day a weekly record counts on. -#}
{% macro week_end(date_expr) -%}
    {{ add_days(week_start(date_expr), 6) }}
{%- endmacro %}

{% macro month_start(date_expr) -%}
    cast({{ dbt.date_trunc('month', date_expr) }} as date)
{%- endmacro %}

{% macro month_end(date_expr) -%}
    cast({{ dbt.last_day(date_expr, 'month') }} as date)
{%- endmacro %}

{#- 1 August that opens the school year holding the date (years run 1 Aug - 31 Jul):
    step back seven months, truncate to the calendar year, step forward again. -#}
{% macro school_year_start(date_expr) -%}
    {{ add_months_to(dbt.date_trunc('year', add_months_to(date_expr, -7)), 7) }}
{%- endmacro %}

{% macro school_year_end(date_expr) -%}
    {{ add_days(add_months_to(school_year_start(date_expr), 12), -1) }}
{%- endmacro %}

{#- Label such as `2026-2027`. -#}
{% macro school_year_label(date_expr) -%}
    {%- set start_year = 'extract(year from ' ~ school_year_start(date_expr) ~ ')' -%}
    {{ dbt.concat([
        'cast(' ~ start_year ~ ' as ' ~ dbt.type_string() ~ ')',
        "'-'",
        'cast(' ~ start_year ~ ' + 1 as ' ~ dbt.type_string() ~ ')',
    ]) }}
{%- endmacro %}

{#- `autumn` 1 Aug - 31 Dec, `spring` 1 Jan - 31 Jul. -#}
{% macro term_of(date_expr) -%}
    case when extract(month from {{ date_expr }}) >= 8 then 'autumn' else 'spring' end
{%- endmacro %}

{% macro term_start(date_expr) -%}
    case
        when extract(month from {{ date_expr }}) >= 8 then {{ school_year_start(date_expr) }}
        else cast({{ dbt.date_trunc('year', date_expr) }} as date)
    end
{%- endmacro %}

{% macro term_end(date_expr) -%}
    case
        when extract(month from {{ date_expr }}) >= 8
            then {{ add_days(add_months_to(school_year_start(date_expr), 5), -1) }}
        else {{ school_year_end(date_expr) }}
    end
{%- endmacro %}

{#- ISO weekday of the date, Monday 1 ... Sunday 7: days since the Monday of its ISO week,
    plus one (portable: dbt's date_trunc('week') starts weeks on Monday, as week_start). -#}
{% macro iso_weekday(date_expr) -%}
    ({{ dbt.datediff(week_start(date_expr), date_expr, 'day') }} + 1)
{%- endmacro %}
