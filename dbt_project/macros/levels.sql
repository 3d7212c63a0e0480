{#- The reporting levels of DESIGN §7/§8. Every mart is built by looping over these, so a
    level is added or changed here only. `codes` are the columns identifying a unit of the
    level; the other code columns are null on that level's rows. -#}
{% macro reporting_levels() -%}
    {{ return([
        {'name': 'school', 'codes': ['region_code', 'municipality_code', 'school_code']},
        {'name': 'municipality', 'codes': ['region_code', 'municipality_code']},
        {'name': 'region', 'codes': ['region_code']},
        {'name': 'national', 'codes': []},
    ]) }}
{%- endmacro %}

{% macro code_columns() -%}
    {{ return(['region_code', 'municipality_code', 'school_code']) }}
{%- endmacro %}

{#- `level, region_code, municipality_code, school_code,` for a level's select list. -#}
{% macro level_columns(level) -%}
    '{{ level.name }}' as level,
    {%- for code in code_columns() %}
        {% if code in level.codes %}{{ code }}{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as {{ code }},
    {%- endfor %}
{%- endmacro %}

{#- Rows that cannot be placed on the level (no school, or a municipality missing from
    the reference data) are left out of it; they still count on the levels above. -#}
{% macro level_filter(level) -%}
    {%- if level.codes -%}
        {%- for code in level.codes %}{{ code }} is not null{% if not loop.last %} and {% endif %}{% endfor -%}
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}

{#- GROUP BY list: the level's codes followed by the other grouping columns. -#}
{% macro level_group_by(level, columns) -%}
    {{ (level.codes + columns) | join(',\n        ') }}
{%- endmacro %}
