-- An absence record needs an attendance record of the same pupil and period: without one
-- its lessons have no denominator and are left out of every rate (DESIGN §5). Surfaced
-- as a warning so one municipality's gap does not stop the nightly publication.
{{ config(severity = 'warn', meta = {'dagster': {'ref': {'name': 'stg_canonical__absences'}}}) }}

with

absences as (

    select * from {{ ref('stg_canonical__absences') }}

),

attendance as (

    select * from {{ ref('stg_canonical__attendance') }}

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
