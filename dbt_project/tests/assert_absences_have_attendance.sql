-- An absence record needs an attendance record of the same pupil and period: without one
-- its lessons have no denominator and are left out of every rate (DESIGN §5). Surfaced
-- as a warning so one municipality's gap does not stop the nightly publication. Both sides
-- are the effective records (DESIGN §3): int_absences_categorised holds the effective
-- absences, effective_records picks the effective attendance.
{{ config(severity = 'warn', meta = {'dagster': {'ref': {'name': 'int_absences_categorised'}}}) }}

with

absences as (

    select * from {{ ref('int_absences_categorised') }}

),

canonical_attendance as (

    select * from {{ ref('stg_canonical__attendance') }}

),

effective_extract_days as (

    select * from {{ ref('int_effective_extract_days') }}

),

attendance as (

    {{ effective_records('canonical_attendance', 'period_end') }}

)

select
    absences.municipality_code,
    absences.extract_id,
    absences.student_key,
    absences.period_start,
    absences.period_end,
    absences.local_code

from absences

left join attendance
    on absences.municipality_code = attendance.municipality_code
    and absences.student_key = attendance.student_key
    and absences.period_start = attendance.period_start
    and absences.period_end = attendance.period_end

where attendance.student_key is null
