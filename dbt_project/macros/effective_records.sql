{#- Window replacement (DESIGN §3), applied: keep a canonical record only when its extract
    is the one that wins the municipality's day the record counts on (int_effective_extract_days
    decides the winners). Every dated record kind (attendance, absences, interventions) is
    filtered here and nowhere else; staging stays a plain typed read of the Parquet.
    `records` and `effective_extract_days` name relations of the calling model (import CTEs);
    `record_date` is the records' date column. Returns a select of the kept records. -#}
{% macro effective_records(records, record_date, effective_extract_days='effective_extract_days') -%}
    select {{ records }}.*

    from {{ records }}

    inner join {{ effective_extract_days }}
        on {{ records }}.municipality_code = {{ effective_extract_days }}.municipality_code
        and {{ records }}.extract_id = {{ effective_extract_days }}.extract_id
        and {{ records }}.{{ record_date }} = {{ effective_extract_days }}.extract_day
{%- endmacro %}
