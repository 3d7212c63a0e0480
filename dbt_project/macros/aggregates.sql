{#- Aggregates that each engine spells its own way (DESIGN §8.2). -#}

{#- The values joined by `separator` in ascending order: the same text for the same set of
    rows, whatever order they arrive in. -#}
{% macro ordered_string_agg(expression, separator) -%}
    {{ return(adapter.dispatch('ordered_string_agg', 'absence')(expression, separator)) }}
{%- endmacro %}

{% macro default__ordered_string_agg(expression, separator) -%}
    string_agg({{ expression }}, {{ sql_text(separator) }} order by {{ expression }})
{%- endmacro %}

{% macro spark__ordered_string_agg(expression, separator) -%}
    array_join(array_sort(collect_list({{ expression }})), {{ sql_text(separator) }})
{%- endmacro %}

{#- An order-independent fingerprint of a set of rows: the sum of a 64-bit hash of the given
    columns, in a type wide enough never to overflow. Each engine has its own hash, so the
    values differ between engines; they are only ever compared with themselves. -#}
{% macro hash_sum(columns) -%}
    {{ return(adapter.dispatch('hash_sum', 'absence')(columns)) }}
{%- endmacro %}

{% macro default__hash_sum(columns) -%}
    sum(cast(hash({{ columns | join(', ') }}) as hugeint))
{%- endmacro %}

{% macro spark__hash_sum(columns) -%}
    sum(cast(xxhash64({{ columns | join(', ') }}) as decimal(38, 0)))
{%- endmacro %}

{#- hash_sum over every column of a relation (a seed), read from the warehouse when the SQL
    runs: a changed cell, an added row or an added column changes it. -#}
{% macro relation_hash_sum(relation) -%}
    {%- if execute -%}
        {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('string') | list -%}
        {%- set quoted = [] -%}
        {%- for column in columns -%}{%- do quoted.append(adapter.quote(column)) -%}{%- endfor -%}
        {{ hash_sum(quoted) }}
    {%- else -%}
        {{ hash_sum(['1']) }}
    {%- endif -%}
{%- endmacro %}

{#- A text that sorts as (date, code): an ISO date sorts as text on both engines. -#}
{% macro placement_key(date_column, code_column) -%}
    cast({{ date_column }} as {{ dbt.type_string() }}) || coalesce({{ code_column }}, '')
{%- endmacro %}

{#- The mean of a double (a pupil's rate or change of rate) that does not depend on the order
    the rows arrive in: summed as an exact decimal, so the same rows give the same mean to the
    last bit whatever a build appended where (an incremental build equals a full refresh).
    18 decimals keep more than a double's precision for values of magnitude below one. -#}
{% macro exact_mean(expression) -%}
    avg(cast({{ expression }} as decimal(38, 18)))
{%- endmacro %}
