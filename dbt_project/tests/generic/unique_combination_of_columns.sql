{#- No two rows share the same values of the given columns (nulls compare equal, as in
    `group by`). A local stand-in for dbt_utils, which cannot be installed offline. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns_csv = combination_of_columns | join(', ') %}

select
    {{ columns_csv }},
    count(*) as n_records
from {{ model }}
group by {{ columns_csv }}
having count(*) > 1

{% endtest %}
