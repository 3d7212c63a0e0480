{#- The roll-up every mart publishes (DESIGN §7/§8): one row per unit of each reporting level
    (reporting_levels(), levels.sql) and `keys`, and, for each column of `all_of`, one row
    per value of that column (a grade band, a term, an intervention type, a dimension) plus
    its `all` row over every value. Adding a level or a band changes this file or levels.sql,
    not the marts.

    relation:   the CTE of rows to add up; it has region_code, municipality_code, school_code,
                the `keys` and the `all_of` columns.
    keys:       the other grouping columns (school_year, the period ...).
    aggregates: select expressions over the rows of a group, each `... as name`: a list,
                or one text of them separated by commas (a `set` block).
    all_of:     a column, or a list of columns, that also get an `all` row (a column's own
                rows only where it is known).
    levels:     a subset of reporting_levels() (default all of them).

    Output columns: level, region_code, municipality_code, school_code, keys, all_of,
    aggregates. A row that cannot be placed on a level (no school, no municipality in the
    reference data) is left out of that level and still counts on the levels above. -#}
{% macro rollup(relation, keys, aggregates, all_of=none, levels=none) -%}
    {%- set all_of = [] if all_of is none else ([all_of] if all_of is string else all_of) -%}
    {{ return(adapter.dispatch('rollup', 'absence')(
        relation, keys, aggregates, all_of, levels or reporting_levels())) }}
{%- endmacro %}

{#- Each combination of own values and `all` for the all_of columns: lists of the columns
    kept as they are ([] = every column rolled up to `all`). -#}
{% macro rollup_variants(all_of) -%}
    {%- set found = namespace(variants=[[]]) -%}
    {%- for column in all_of -%}
        {%- set extended = [] -%}
        {%- for variant in found.variants -%}
            {%- do extended.append(variant + [column]) -%}
            {%- do extended.append(variant) -%}
        {%- endfor -%}
        {%- set found.variants = extended -%}
    {%- endfor -%}
    {{ return(found.variants) }}
{%- endmacro %}

{#- Portable: one aggregation per level and variant, glued with union all. -#}
{% macro default__rollup(relation, keys, aggregates, all_of, levels) -%}
    {%- set variants = rollup_variants(all_of) -%}
    {%- for level in levels %}
    {%- set outer_loop = loop %}
    {%- for own in variants %}

    select
        {{ level_columns(level) }}
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        {%- for column in all_of %}
        {% if column in own %}{{ column }}{% else %}'all' as {{ column }}{% endif %},
        {%- endfor %}
        {{ aggregates if aggregates is string else aggregates | join(',\n        ') }}

    from {{ relation }}

    where {{ level_filter(level) }}
        {%- for column in own %} and {{ column }} is not null{% endfor %}

    group by
        {{ level_group_by(level, keys + own) }}

    {% if not (outer_loop.last and loop.last) %}union all{% endif %}
    {%- endfor %}
    {%- endfor %}
{%- endmacro %}

{#- DuckDB: every level and variant in one aggregation (grouping sets), so the rows are read
    once rather than once per level and variant; the same rows as the portable form. -#}
{% macro duckdb__rollup(relation, keys, aggregates, all_of, levels) -%}
    {%- set variants = rollup_variants(all_of) -%}
    select
        case
            {%- for level in levels %}
            when {% for code in code_columns() -%}
                grouping({{ code }}) = {{ 0 if code in level.codes else 1 }}{% if not loop.last %} and {% endif %}
            {%- endfor %} then '{{ level.name }}'
            {%- endfor %}
        end as level,
        {{ code_columns() | join(',\n        ') }},
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        {%- for column in all_of %}
        case when grouping({{ column }}) = 1 then 'all' else {{ column }} end as {{ column }},
        {%- endfor %}
        {{ aggregates if aggregates is string else aggregates | join(',\n        ') }}

    from {{ relation }}

    group by
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        grouping sets (
            {%- for level in levels %}
            {%- set outer_loop = loop %}
            {%- for own in variants %}
            ({{ (level.codes + own) | join(', ') }}){% if not (outer_loop.last and loop.last) %},{% endif %}
            {%- endfor %}
            {%- endfor %}
        )

    having
        {%- for column in code_columns() + all_of %}
        (grouping({{ column }}) = 1 or {{ column }} is not null){% if not loop.last %} and{% endif %}
        {%- endfor %}
{%- endmacro %}
