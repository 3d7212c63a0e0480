{#- No two rows share the same values of the given columns (nulls compare equal, as in
    `group by`). A local stand-in for dbt_utils, which cannot be installed offline.

    `rows_written_by`: the columns include the pupil (and school year), and the model is
    built by changed pupil from this model's change record (macros/pupil_changes.sql): only
    the rows of the pupils the last build wrote are tested, unless it rebuilt every row. -#}
{% test unique_combination_of_columns(model, combination_of_columns, rows_written_by=none) %}

{%- set columns_csv = combination_of_columns | join(', ') %}
{%- set condition = none %}
{%- if rows_written_by is not none %}
    {%- set condition = rows_written_condition(model, rows_written_by, 'tested_rows') %}
{%- endif %}

select
    {{ columns_csv }},
    count(*) as n_records
from {{ model }}
{%- if condition is not none %} as tested_rows
where {{ condition }}
{%- endif %}
group by {{ columns_csv }}
having count(*) > 1

{% endtest %}
