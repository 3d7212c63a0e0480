-- The support caseload of DESIGN §7.2, pupil by pupil: for every Sunday snapshot
-- (int_pupil_tier_snapshots) of a pupil who crossed 10 % on c <= s in that school year
-- (int_pupil_crossings), whether the pupil awaits a response on Sunday s.
--   awaiting targeted: tier on s `targeted` or `intensive`, and no targeted- or
--     intensive-tier intervention dated in [c - 14, s]; overdue when also s > c + 21.
--   awaiting intensive: crossed 20 % on c20 <= s, tier on s `intensive`, and no
--     individual_attendance_plan / multi_professional_group dated in [c20 - 14, s];
--     overdue when also s > c20 + 30.
-- "No intervention in [c - 14, s]" is "the first such intervention dated from c - 14 on is
-- later than s (or there is none)": one date per crossing, compared with every Sunday,
-- so pupils x Sundays after the crossing, never pupils x days x interventions.

{%- set intensive_response_types = ['individual_attendance_plan', 'multi_professional_group'] %}

with

snapshots as (

    select * from {{ ref('int_pupil_tier_snapshots') }}

),

crossings as (

    select * from {{ ref('int_pupil_crossings') }}

),

interventions as (

    select * from {{ ref('int_interventions_typed') }}

),

-- The first intervention that ends waiting, per crossing: from 14 days before the crossing
-- on, whenever it came (a late one ends the wait from its date).
first_responses as (

    select
        crossings.student_key,
        crossings.school_year,
        min(case
            when interventions.tier in ('targeted', 'intensive')
                and interventions.intervention_date
                    >= {{ add_days('crossings.targeted_crossing_date', -var('timely_before_days')) }}
                then interventions.intervention_date
        end) as targeted_response_date,
        min(case
            when interventions.intervention_type in ('{{ intensive_response_types | join("', '") }}')
                and interventions.intervention_date
                    >= {{ add_days('crossings.intensive_crossing_date', -var('timely_before_days')) }}
                then interventions.intervention_date
        end) as intensive_response_date

    from crossings

    left join interventions
        on crossings.student_key = interventions.student_key

    group by
        crossings.student_key,
        crossings.school_year

),

caseload as (

    select
        snapshots.student_key,
        snapshots.school_year,
        snapshots.as_of_date,
        snapshots.tier,
        crossings.targeted_crossing_date,
        first_responses.targeted_response_date,
        crossings.intensive_crossing_date,
        first_responses.intensive_response_date,
        snapshots.tier in ('targeted', 'intensive')
            and (first_responses.targeted_response_date is null
                 or first_responses.targeted_response_date > snapshots.as_of_date)
            as awaiting_targeted,
        crossings.intensive_crossing_date is not null
            and crossings.intensive_crossing_date <= snapshots.as_of_date
            and snapshots.tier = 'intensive'
            and (first_responses.intensive_response_date is null
                 or first_responses.intensive_response_date > snapshots.as_of_date)
            as awaiting_intensive

    from snapshots

    inner join crossings
        on snapshots.student_key = crossings.student_key
        and snapshots.school_year = crossings.school_year
        and crossings.targeted_crossing_date <= snapshots.as_of_date

    left join first_responses
        on crossings.student_key = first_responses.student_key
        and crossings.school_year = first_responses.school_year

),

final as (

    select
        *,
        awaiting_targeted
            and as_of_date > {{ add_days('targeted_crossing_date', var('timely_after_days')) }}
            as overdue_targeted,
        awaiting_intensive
            and as_of_date > {{ add_days('intensive_crossing_date', var('intensive_after_days')) }}
            as overdue_intensive

    from caseload

)

select * from final
