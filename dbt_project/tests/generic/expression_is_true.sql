{#- Every row satisfies a boolean SQL expression, e.g. `absent_lessons <= scheduled_lessons`.
    Restrict the rows with dbt's own `config: {where: ...}`. -#}
{% test expression_is_true(model, expression) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
