{#- Change after intervention (DESIGN §7): around an anchor date t, the absence rate over
    the pupil's records with period_end in [t+1, t+window] and over [t-window, t-1]
    (window = var change_window_days, 28); a rate is null unless its window holds at least
    var change_min_lessons (10) scheduled lessons, so the pupil is left out of any mean.
    Records on t itself belong to neither window; records of any school year count.

    `anchors` names a relation of the calling model with student_key, school_year and the
    anchor column (one row per pupil and school year); `series` one with student_key,
    period_end, scheduled_lessons and absent_lessons (int_pupil_ytd_series). Returns a
    select of student_key, school_year, scheduled_lessons_before/after and
    absence_rate_before/after, one row per anchor with records in either window. The
    responded pupils of int_pupil_crossings (t = first response) and the comparison pupils
    of int_pupil_effect_windows (t = crossing + 7) are measured by this one rule. -#}
{% macro rate_change_windows(anchors, anchor_date, series='series') -%}
    {%- set window_days = var('change_window_days') -%}
    select
        student_key,
        school_year,
        cast(scheduled_before as decimal(18, 3)) as scheduled_lessons_before,
        cast(scheduled_after as decimal(18, 3)) as scheduled_lessons_after,
        case when scheduled_before >= {{ var('change_min_lessons') }}
            then {{ safe_ratio('absent_before', 'scheduled_before') }}
        end as absence_rate_before,
        case when scheduled_after >= {{ var('change_min_lessons') }}
            then {{ safe_ratio('absent_after', 'scheduled_after') }}
        end as absence_rate_after

    from (

        select
            {{ anchors }}.student_key,
            {{ anchors }}.school_year,
            sum(case when {{ series }}.period_end < {{ anchors }}.{{ anchor_date }}
                then {{ series }}.scheduled_lessons else 0 end) as scheduled_before,
            sum(case when {{ series }}.period_end < {{ anchors }}.{{ anchor_date }}
                then {{ series }}.absent_lessons else 0 end) as absent_before,
            sum(case when {{ series }}.period_end > {{ anchors }}.{{ anchor_date }}
                then {{ series }}.scheduled_lessons else 0 end) as scheduled_after,
            sum(case when {{ series }}.period_end > {{ anchors }}.{{ anchor_date }}
                then {{ series }}.absent_lessons else 0 end) as absent_after

        from {{ anchors }}

        inner join {{ series }}
            on {{ anchors }}.student_key = {{ series }}.student_key
            and {{ series }}.period_end >= {{ add_days(anchors ~ '.' ~ anchor_date, -window_days) }}
            and {{ series }}.period_end <= {{ add_days(anchors ~ '.' ~ anchor_date, window_days) }}
            and {{ series }}.period_end <> {{ anchors }}.{{ anchor_date }}

        group by
            {{ anchors }}.student_key,
            {{ anchors }}.school_year

    ) as change_windows
{%- endmacro %}
