{#- No two rows share the same values of the given columns (nulls compare equal, as in
    `group by`). A local stand-in for dbt_utils, which cannot be installed offline.

    `rows_written_by`: the columns include the pupil (and school year), and the model is
    built by changed pupil from this model's change record (macros/pupil_changes.sql): only
    the rows the last build wrote (its pupils, from the date it wrote from) are tested,
    unless it rebuilt every row (macro rows_written_join). -#}
{% test unique_combination_of_columns(model, combination_of_columns, rows_written_by=none) %}

{%- set written = none %}
{%- if rows_written_by is not none %}
    {%- set written = rows_written_join(model, rows_written_by, 'tested_rows') %}
{%- endif %}

select
    {% for column in combination_of_columns %}tested_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %},
    count(*) as n_records
from {{ model }} as tested_rows
{%- if written is not none %}
{{ written }}
{%- endif %}
group by {% for column in combination_of_columns %}tested_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1

{% endtest %}
