{#- Names beside codes (DESIGN §8.1): every published table carries region_name and
    municipality_name, the Finnish names of the reference classification, null above the
    row's level (a null code finds no name). One place for the join, used by every mart. -#}

{#- `region_code, region_name, municipality_code, municipality_name,` of `relation`. -#}
{% macro place_columns(relation) -%}
    {{ relation }}.region_code,
        region_names.maakunta_name_fi as region_name,
        {{ relation }}.municipality_code,
        municipality_names.kunta_name_fi as municipality_name,
{%- endmacro %}

{% macro place_joins(relation) -%}
    left join {{ ref('maakunnat') }} as region_names
        on {{ relation }}.region_code = region_names.maakunta_code

    left join {{ ref('kunnat_2026') }} as municipality_names
        on {{ relation }}.municipality_code = municipality_names.kunta_code
{%- endmacro %}

{#- A period is provisional while it is unfinished or still inside the usual correction
    window: it ends later than data_through minus 14 days (DESIGN §8.1). -#}
{% macro is_provisional(period_end, data_through) -%}
    ({{ period_end }} > {{ add_days(data_through, -var('provisional_days')) }})
{%- endmacro %}
