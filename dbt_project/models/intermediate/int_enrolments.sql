-- Enrolments of the latest loaded extract of each municipality, with the region and
-- grade band. An extract's students file replaces the municipality's enrolments
-- (DESIGN §3). A pupil identified by a municipal id only has a key of its own in every
-- municipality (DESIGN §7), so the same student_key may appear in several municipalities
-- only when it came from a learner OID.

with

students as (

    select * from {{ ref('stg_canonical__students') }}

),

effective_extract_days as (

    select * from {{ ref('int_effective_extract_days') }}

),

municipalities as (

    select * from {{ ref('int_municipalities') }}

),

latest_extracts as (

    select distinct
        municipality_code,
        extract_id

    from effective_extract_days

    where is_latest_extract

),

latest_students as (

    select students.*

    from students

    inner join latest_extracts
        on students.municipality_code = latest_extracts.municipality_code
        and students.extract_id = latest_extracts.extract_id

),

enrolments as (

    select
        latest_students.student_key,
        latest_students.municipality_code,
        municipalities.region_code,
        latest_students.school_code,
        latest_students.grade,
        {{ grade_band('latest_students.grade') }} as grade_band,
        latest_students.enrolled_from,
        latest_students.enrolled_to,
        latest_students.profile,
        latest_students.extract_id

    from latest_students

    left join municipalities
        on latest_students.municipality_code = municipalities.municipality_code

)

select * from enrolments
