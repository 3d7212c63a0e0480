{#- A string literal of configuration text (a var, a seed's cell), escaped for the engine:
    configuration becomes data in SQL, never SQL. DuckDB doubles a quote; Spark reads a
    doubled quote as two literals side by side ('it''s' is 'its') and escapes with a
    backslash instead. -#}
{% macro sql_text(value) -%}
    {{ return(adapter.dispatch('sql_text', 'absence')(value)) }}
{%- endmacro %}

{% macro default__sql_text(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_text(value) -%}
    '{{ (value | string) | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
