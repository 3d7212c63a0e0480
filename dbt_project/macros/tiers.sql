{#- Attendance tier of DESIGN §7 from lesson counts. The boundaries compare
    absent * 100 with threshold * scheduled on exact decimals, never a rounded rate, so
    exactly 10.0 % is `targeted` and exactly 20.0 % is `intensive`. -#}
{% macro attendance_tier(absent_lessons, scheduled_lessons) -%}
    case
        when {{ scheduled_lessons }} < {{ var('min_scheduled_lessons') }} then 'pending'
        when {{ absent_lessons }} * 100 >= {{ var('intensive_threshold_pct') }} * {{ scheduled_lessons }} then 'intensive'
        when {{ absent_lessons }} * 100 >= {{ var('targeted_threshold_pct') }} * {{ scheduled_lessons }} then 'targeted'
        else 'universal'
    end
{%- endmacro %}

{% macro grade_band(grade) -%}
    case
        when {{ grade }} between 1 and 2 then '1-2'
        when {{ grade }} between 3 and 6 then '3-6'
        when {{ grade }} between 7 and 9 then '7-9'
    end
{%- endmacro %}

{#- Lesson-weighted ratio; null when nothing was scheduled. -#}
{% macro safe_ratio(numerator, denominator) -%}
    case
        when {{ denominator }} > 0
            then cast({{ numerator }} as double) / cast({{ denominator }} as double)
    end
{%- endmacro %}
