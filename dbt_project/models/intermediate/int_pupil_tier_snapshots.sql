-- The tier of every pupil on every Sunday of the school year up to the latest data
-- (DESIGN §7/§8 attendance_tiers). A pupil is in a Sunday's snapshot when they have a
-- record of the school year counting on or before that Sunday and an enrolment not ended
-- before the Monday of that week; their school and grade are those of their latest record
-- on or before the Sunday. Pupils x Sundays (about 40 a year), never pupils x days.
--
-- Incremental on DuckDB (macros/pupil_changes.sql): a build writes again the snapshots of
-- the pupils whose records changed in the last build of int_pupil_periods from the week of
-- their first changed date (changed_from; every Sunday when it is null), and every other
-- pupil gets the Sundays the night's data added after the last one built. Either way a
-- pupil carries on from a Sunday built (carried_from): their state on it (the row built) is
-- their first state, then the points of their series after it. A snapshot before the week
-- of a change reads only the series before it, and the enrolments, which a pupil with a
-- changed_from has the same as before.

{{ config(
    materialized=incremental_on_duckdb(),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=[
        "{{ delete_changed_pupils(this, ref('int_pupil_periods'), from_column='as_of_date') }}",
        "{{ delete_snapshots_after_latest_data(this, ref('int_pupil_periods'), ref('int_pupil_ytd_series')) }}",
    ],
    post_hook="{{ remember_pupil_changes_seen(this, ref('int_pupil_periods')) }}",
) }}

{%- set mode = pupil_change_mode(this, ref('int_pupil_periods')) %}

with

-- Every pupil's series sets the Sundays.
all_series as (

    select * from {{ ref('int_pupil_ytd_series') }}

),

{%- if mode == 'changed' %}

-- The rows left after the pre-hooks: up to the latest data, the changed pupils' up to the
-- week of their change.
last_built_sundays as (

    select
        school_year,
        max(as_of_date) as last_sunday

    from {{ this }}

    group by school_year

),

-- The changed pupils and the Sunday after which the build writes theirs: the Sunday before
-- the week of their first change, or the last one built if that is earlier (null: every
-- Sunday). The pre-hook deleted their rows after it.
changed_carry as (

    select
        changed.student_key,
        changed.school_year,
        case when changed.changed_from is not null then least(
            {{ add_days(week_start('changed.changed_from'), -1) }},
            coalesce(last_built_sundays.last_sunday, cast('0001-01-01' as date))
        ) end as carried_from

    from {{ sibling_relation(ref('int_pupil_periods'), 'changed_pupils') }} as changed

    left join last_built_sundays
        on changed.school_year = last_built_sundays.school_year

),

-- The series the build reads, with the Sunday after which it writes (null: every one). The
-- changed pupils' points after theirs; the others' points in the weeks after the last
-- Sunday built. Both are Sundays, so a point is in a later week exactly when it is later.
-- Each branch reads the model itself, not the CTE all_series: a CTE read three times is
-- materialised whole, every column of every pupil's series, before either filter.
series as (

    select
        series_points.*,
        changed_carry.carried_from

    from {{ ref('int_pupil_ytd_series') }} as series_points

    inner join changed_carry
        on series_points.student_key = changed_carry.student_key
        and series_points.school_year = changed_carry.school_year

    where changed_carry.carried_from is null
        or series_points.period_end > changed_carry.carried_from

    union all

    select
        series_points.*,
        coalesce(last_built_sundays.last_sunday, cast('0001-01-01' as date)) as carried_from

    from {{ ref('int_pupil_ytd_series') }} as series_points

    left join last_built_sundays
        on series_points.school_year = last_built_sundays.school_year

    where series_points.period_end
        > coalesce(last_built_sundays.last_sunday, cast('0001-01-01' as date))
        and not {{ changed_pupils_condition(this, ref('int_pupil_periods'), 'series_points') }}

),

-- Each pupil's state on the Sunday the build carries on from (the changed pupils' own, the
-- others' the last one built): their first state.
{%- set built_columns %}
        built.student_key,
        built.school_year,
        built.as_of_date as week_sunday,
        built.municipality_code,
        built.region_code,
        built.school_code,
        built.grade,
        built.grade_band,
        built.ytd_scheduled_lessons,
        built.ytd_absent_lessons,
        built.as_of_date as carried_from
{%- endset %}
built_states as (

    select
        {{- built_columns }}

    from {{ this }} as built

    inner join last_built_sundays
        on built.school_year = last_built_sundays.school_year
        and built.as_of_date = last_built_sundays.last_sunday

    where not {{ changed_pupils_condition(this, ref('int_pupil_periods'), 'built') }}

    union all

    select
        {{- built_columns }}

    from {{ this }} as built

    inner join changed_carry
        on built.student_key = changed_carry.student_key
        and built.school_year = changed_carry.school_year
        and built.as_of_date = changed_carry.carried_from

),
{%- else %}

series as (

    select
        *,
        cast(null as date) as carried_from

    from ({{ changed_pupil_rows(this, ref('int_pupil_periods'), ref('int_pupil_ytd_series')) }})
        as changed_series

),
{%- endif %}

enrolments as (

    select * from {{ ref('int_enrolments') }}

),

-- The last series point of a pupil in an ISO week is their state on that week's Sunday:
-- the point whose next date (next_period_end, from the series' own sort) is in a later
-- week, or that has none. A filter, no aggregation or join over the whole series.
week_states as (

    select
        student_key,
        school_year,
        {{ week_end('period_end') }} as week_sunday,
        municipality_code,
        region_code,
        school_code,
        grade,
        grade_band,
        ytd_scheduled_lessons,
        ytd_absent_lessons,
        carried_from

    from series

    where next_period_end is null
        or next_period_end > {{ week_end('period_end') }}
    {%- if mode == 'changed' %}

    union all

    select * from built_states
    {%- endif %}

),

school_year_bounds as (

    select
        school_year,
        {{ school_year_start('min(period_end)') }} as school_year_start,
        max(period_end) as latest_period_end

    from all_series

    group by school_year

),

sundays_expanded as (

    select
        school_year,
        {{ expand_sundays('school_year_start', 'latest_period_end') }} as as_of_date

    from school_year_bounds

),

sundays as (

    select
        school_year,
        cast(as_of_date as date) as as_of_date

    from sundays_expanded

),

pupil_years as (

    select
        student_key,
        school_year,
        min(week_sunday) as first_sunday,
        max(carried_from) as carried_from

    from week_states

    group by
        student_key,
        school_year

),

pupil_enrolment_ends as (

    select
        student_key,
        max(coalesce(enrolled_to, cast('9999-12-31' as date))) as enrolled_until

    from enrolments

    group by student_key

),

pupil_sundays as (

    select
        pupil_years.student_key,
        pupil_years.school_year,
        sundays.as_of_date,
        pupil_years.carried_from

    from pupil_years

    inner join sundays
        on pupil_years.school_year = sundays.school_year
        and sundays.as_of_date >= pupil_years.first_sunday

),

-- Weeks without records carry the previous state forward: number the states, then
-- spread each over the Sundays up to the next one.
numbered as (

    select
        pupil_sundays.student_key,
        pupil_sundays.school_year,
        pupil_sundays.as_of_date,
        pupil_sundays.carried_from,
        week_states.municipality_code,
        week_states.region_code,
        week_states.school_code,
        week_states.grade,
        week_states.grade_band,
        week_states.ytd_scheduled_lessons,
        week_states.ytd_absent_lessons,
        count(week_states.week_sunday) over (
            partition by pupil_sundays.student_key, pupil_sundays.school_year
            order by pupil_sundays.as_of_date
            rows between unbounded preceding and current row
        ) as state_number

    from pupil_sundays

    left join week_states
        on pupil_sundays.student_key = week_states.student_key
        and pupil_sundays.school_year = week_states.school_year
        and pupil_sundays.as_of_date = week_states.week_sunday

),

{%- set carried_columns = [
    'municipality_code', 'region_code', 'school_code', 'grade', 'grade_band',
    'ytd_scheduled_lessons', 'ytd_absent_lessons',
] %}

carried as (

    select
        student_key,
        school_year,
        as_of_date,
        carried_from,
        {%- for column in carried_columns %}
        max({{ column }}) over (
            partition by student_key, school_year, state_number
        ) as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from numbered

),

snapshots as (

    select
        carried.student_key,
        carried.school_year,
        carried.as_of_date,
        carried.municipality_code,
        carried.region_code,
        carried.school_code,
        carried.grade,
        carried.grade_band,
        carried.ytd_scheduled_lessons,
        carried.ytd_absent_lessons,
        {{ attendance_tier('carried.ytd_absent_lessons', 'carried.ytd_scheduled_lessons') }} as tier

    from carried

    inner join pupil_enrolment_ends
        on carried.student_key = pupil_enrolment_ends.student_key

    where pupil_enrolment_ends.enrolled_until >= {{ add_days('carried.as_of_date', -6) }}
        and (carried.carried_from is null or carried.as_of_date > carried.carried_from)

)

select * from snapshots
