{#- On every row, exactly the code columns of the row's level are set and the codes of
    the levels below are null (DESIGN §8: "each null above its level"). -#}
{% test codes_match_level(model) %}

select *
from {{ model }}
where
    {%- for level in reporting_levels() %}
    {% if not loop.first %}or {% endif %}(
        level = '{{ level.name }}'
        and not (
            {%- for code in code_columns() %}
            {{ code }} is {% if code not in level.codes %}null{% else %}not null{% endif %}{% if not loop.last %} and{% endif %}
            {%- endfor %}
        )
    )
    {%- endfor %}

{% endtest %}
