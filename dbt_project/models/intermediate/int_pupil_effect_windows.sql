-- The two groups of the evaluation in DESIGN §7.2, one row per pupil and school year in which
-- the pupil crossed 10 % (int_pupil_crossings), placed where they crossed:
--   `responded`: a targeted- or intensive-tier intervention in [c - 14, c + 21]; measured
--     around t = their first such intervention (the change int_pupil_crossings computed);
--   `comparison`: no such intervention; measured around t = c + 7 with the same windows
--     (macro rate_change_windows: [t - 28, t - 1] and [t + 1, t + 28], each needing 10
--     scheduled lessons, else the pupil is left out of the means).
-- Descriptive, not causal: the groups differ in more than the intervention.

with

crossings as (

    select * from {{ ref('int_pupil_crossings') }}

),

series as (

    select * from {{ ref('int_pupil_ytd_series') }}

),

comparison_anchors as (

    select
        student_key,
        school_year,
        {{ add_days('targeted_crossing_date', 7) }} as anchor_date

    from crossings

    where not responded_targeted

),

comparison_changes as (

    {{ rate_change_windows('comparison_anchors', 'anchor_date') }}

),

final as (

    select
        crossings.student_key,
        crossings.school_year,
        case when crossings.responded_targeted then 'responded' else 'comparison' end
            as effect_group,
        crossings.response_type as intervention_type,
        crossings.targeted_crossing_date,
        case
            when crossings.responded_targeted then crossings.response_date
            else comparison_anchors.anchor_date
        end as anchor_date,
        crossings.targeted_region_code as region_code,
        crossings.targeted_municipality_code as municipality_code,
        crossings.targeted_school_code as school_code,
        case
            when crossings.responded_targeted then crossings.absence_rate_before
            else comparison_changes.absence_rate_before
        end as absence_rate_before,
        case
            when crossings.responded_targeted then crossings.absence_rate_after
            else comparison_changes.absence_rate_after
        end as absence_rate_after

    from crossings

    left join comparison_anchors
        on crossings.student_key = comparison_anchors.student_key
        and crossings.school_year = comparison_anchors.school_year

    left join comparison_changes
        on crossings.student_key = comparison_changes.student_key
        and crossings.school_year = comparison_changes.school_year

)

select
    *,
    absence_rate_after - absence_rate_before as rate_change

from final
