{#- Which enrolment a dated record belongs to (DESIGN §7: the enrolment covering the
    record's date, the latest enrolled_from if several). When none covers the date (a
    weekly record counting on the Sunday after an enrolment ended on Friday), fall back to
    the most recent enrolment that had started by then, then to any enrolment.
    Returns an ORDER BY list for row_number(); rank 1 wins. -#}
{% macro enrolment_priority(record_date, enrolments='enrolments') -%}
    case
        when {{ enrolments }}.enrolled_from <= {{ record_date }}
            and ({{ enrolments }}.enrolled_to is null or {{ enrolments }}.enrolled_to >= {{ record_date }})
            then 0
        when {{ enrolments }}.enrolled_from <= {{ record_date }} then 1
        else 2
    end,
    {{ enrolments }}.enrolled_from desc,
    {{ enrolments }}.school_code
{%- endmacro %}
