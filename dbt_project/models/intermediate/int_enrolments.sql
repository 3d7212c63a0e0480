-- Enrolments of the latest loaded extract of each municipality, with the region and
-- grade band. A pupil identified by a municipal id only has a key of its own in every
-- municipality (DESIGN §7), so the same student_key may appear in several municipalities
-- only when it came from a learner OID.

with

students as (

    select * from {{ ref('stg_canonical__students') }}

),

municipalities as (

    select * from {{ ref('int_municipalities') }}

),

enrolments as (

    select
        students.student_key,
        students.municipality_code,
        municipalities.region_code,
        students.school_code,
        students.grade,
        {{ grade_band('students.grade') }} as grade_band,
        students.enrolled_from,
        students.enrolled_to,
        students.profile,
        students.extract_id

    from students

    left join municipalities
        on students.municipality_code = municipalities.municipality_code

)

select * from enrolments
