{#- Enrolment placement (DESIGN §7): a dated record belongs to the school and grade of the
    pupil's enrolment in the record's municipality that covers the record's date, the
    latest enrolled_from if several. When none covers the date (a weekly record counting on
    the Sunday after an enrolment ended on Friday), the most recent enrolment that had
    started by then places it, then any enrolment (earliest school code last). A pupil
    without an enrolment in the municipality keeps null school, grade and grade band.

    `records` and `enrolments` name relations of the calling model (import CTEs) with
    municipality_code and student_key; `record_date` is the records' date column. Returns a
    select of every record, once, with school_code, grade and grade_band appended.

    Most pupils have one enrolment in their municipality: it places every record of theirs
    (the ranking would pick it whatever the date). Only pupils with several are ranked per
    record date, so the window sorts their dates, not every pupil's. -#}
{% macro place_on_enrolment(records, record_date, enrolments='enrolments') -%}
    select
        {{ records }}.*,
        case
            when single_enrolments.student_key is not null then single_enrolments.school_code
            else date_enrolments.school_code
        end as school_code,
        case
            when single_enrolments.student_key is not null then single_enrolments.grade
            else date_enrolments.grade
        end as grade,
        case
            when single_enrolments.student_key is not null then single_enrolments.grade_band
            else date_enrolments.grade_band
        end as grade_band

    from {{ records }}

    left join (

        select
            municipality_code,
            student_key,
            min(school_code) as school_code,
            min(grade) as grade,
            min(grade_band) as grade_band

        from {{ enrolments }}

        group by
            municipality_code,
            student_key

        having count(*) = 1

    ) as single_enrolments
        on {{ records }}.municipality_code = single_enrolments.municipality_code
        and {{ records }}.student_key = single_enrolments.student_key

    left join (

        select
            record_dates.municipality_code,
            record_dates.student_key,
            record_dates.record_date,
            {{ enrolments }}.school_code,
            {{ enrolments }}.grade,
            {{ enrolments }}.grade_band,
            row_number() over (
                partition by
                    record_dates.municipality_code,
                    record_dates.student_key,
                    record_dates.record_date
                order by
                    case
                        when {{ enrolments }}.enrolled_from <= record_dates.record_date
                            and ({{ enrolments }}.enrolled_to is null
                                or {{ enrolments }}.enrolled_to >= record_dates.record_date)
                            then 0
                        when {{ enrolments }}.enrolled_from <= record_dates.record_date then 1
                        else 2
                    end,
                    {{ enrolments }}.enrolled_from desc,
                    {{ enrolments }}.school_code
            ) as enrolment_rank

        from (

            select distinct
                {{ records }}.municipality_code,
                {{ records }}.student_key,
                {{ records }}.{{ record_date }} as record_date

            from {{ records }}

            inner join (

                select
                    municipality_code,
                    student_key

                from {{ enrolments }}

                group by
                    municipality_code,
                    student_key

                having count(*) > 1

            ) as multiple_enrolments
                on {{ records }}.municipality_code = multiple_enrolments.municipality_code
                and {{ records }}.student_key = multiple_enrolments.student_key

        ) as record_dates

        inner join {{ enrolments }}
            on record_dates.municipality_code = {{ enrolments }}.municipality_code
            and record_dates.student_key = {{ enrolments }}.student_key

    ) as date_enrolments
        on {{ records }}.municipality_code = date_enrolments.municipality_code
        and {{ records }}.student_key = date_enrolments.student_key
        and {{ records }}.{{ record_date }} = date_enrolments.record_date
        and date_enrolments.enrolment_rank = 1
{%- endmacro %}
