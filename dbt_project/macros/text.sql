{#- A string literal of configuration text (a var), quotes doubled: configuration becomes
    data in SQL, never SQL. -#}
{% macro sql_text(value) -%}
    '{{ (value | string) | replace("'", "''") }}'
{%- endmacro %}
