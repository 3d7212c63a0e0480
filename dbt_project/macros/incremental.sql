{#- int_pupil_periods is incremental: a build replaces the rows whose inputs changed since
    the last build, each engine its own way (DESIGN §8.2). int_pupil_period_partitions
    fingerprints the inputs per (municipality, school year, week).

    DuckDB, by week and by pupil. The build remembers what it was built from in two small
    tables beside the model (written by the post-hook, in the build's transaction):
    `<model>__built_weeks`, each week's fingerprint, and `<model>__built_enrolments`, each
    pupil's enrolments (a hash per municipality and pupil). A build then replaces
      - the rows of the weeks whose fingerprint changed (a night's window: two or three
        weeks of the municipalities that delivered), and
      - every row of the pupils whose enrolments changed (placement depends on them on
        every date, DESIGN §7); a new enrolment list that moves nobody changes nothing.
    The pre-hook deletes those rows and the model appends them again.

    Spark writes Parquet partitions and cannot delete rows: it replaces whole
    (municipality, school year) partitions whose school_year_fingerprint the table does not
    hold (insert_overwrite with partitionOverwriteMode=dynamic), and keeps no state.

    Without state (the first build, a full refresh, a warehouse from before the state
    tables) everything is built. A change to the SQL of the model or its macros is seen by
    no fingerprint: `absence run --full-refresh` after one. -#}

{% macro partition_replace_strategy() -%}
    {{ return(adapter.dispatch('partition_replace_strategy', 'absence')()) }}
{%- endmacro %}

{% macro default__partition_replace_strategy() -%}
    {{ return('append') }}
{%- endmacro %}

{% macro spark__partition_replace_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- The materialisation of a model that keeps state between builds on DuckDB (the pupil-level
    models after int_pupil_periods, absence_rates) and that Spark builds whole. -#}
{% macro incremental_on_duckdb() -%}
    {{ return(adapter.dispatch('incremental_on_duckdb', 'absence')()) }}
{%- endmacro %}

{% macro default__incremental_on_duckdb() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__incremental_on_duckdb() -%}
    {{ return('table') }}
{%- endmacro %}

{#- One of the state tables beside the model (it may not exist). -#}
{% macro built_state_relation(model_relation, kind) -%}
    {{ return(model_relation.incorporate(path={'identifier': model_relation.identifier ~ '__built_' ~ kind})) }}
{%- endmacro %}

{#- The state tables of an incremental build, or none: not incremental, or either table is
    missing (then every row is built again). -#}
{% macro built_state(model_relation) -%}
    {%- if not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set state = {} -%}
    {%- for kind in ['weeks', 'enrolments'] -%}
        {%- set relation = built_state_relation(model_relation, kind) -%}
        {%- if adapter.get_relation(database=relation.database, schema=relation.schema,
                                    identifier=relation.identifier) is none -%}
            {{ return(none) }}
        {%- endif -%}
        {%- do state.update({kind: relation}) -%}
    {%- endfor -%}
    {{ return(state) }}
{%- endmacro %}

{#- The fingerprint a row stores: its week's on DuckDB, its school year's on Spark. -#}
{% macro stored_fingerprint(partitions) -%}
    {{ return(adapter.dispatch('stored_fingerprint', 'absence')(partitions)) }}
{%- endmacro %}

{% macro default__stored_fingerprint(partitions) -%}
    {{ partitions }}.partition_fingerprint
{%- endmacro %}

{% macro spark__stored_fingerprint(partitions) -%}
    {{ partitions }}.school_year_fingerprint
{%- endmacro %}

{#- A select of (municipality_code, student_key, enrolment_count, enrolment_hash): each
    pupil's enrolments in a municipality, everything placement reads. -#}
{% macro pupil_enrolment_hashes(enrolments) -%}
    select
        municipality_code,
        student_key,
        count(*) as enrolment_count,
        {{ hash_sum(['school_code', 'grade', 'grade_band', 'region_code', 'enrolled_from',
                     'enrolled_to']) }} as enrolment_hash

    from {{ enrolments }}

    group by
        municipality_code,
        student_key
{%- endmacro %}

{#- A select of (municipality_code, school_year, week_start): the weeks whose rows this
    build writes. -#}
{% macro pupil_period_pending_weeks(model_relation, partitions) -%}
    {{ return(adapter.dispatch('pupil_period_pending_weeks', 'absence')(model_relation, partitions)) }}
{%- endmacro %}

{% macro default__pupil_period_pending_weeks(model_relation, partitions) -%}
    {%- set built = built_state(model_relation) -%}
    select
        current_weeks.municipality_code,
        current_weeks.school_year,
        current_weeks.week_start

    from {{ partitions }} as current_weeks

    {%- if built is not none %}

    where not exists (
        select 1
        from {{ built['weeks'] }} as built_weeks
        where built_weeks.municipality_code = current_weeks.municipality_code
            and built_weeks.school_year = current_weeks.school_year
            and built_weeks.week_start = current_weeks.week_start
            and built_weeks.partition_fingerprint = current_weeks.partition_fingerprint
    )
    {%- endif %}
{%- endmacro %}

{% macro spark__pupil_period_pending_weeks(model_relation, partitions) -%}
    select
        current_weeks.municipality_code,
        current_weeks.school_year,
        current_weeks.week_start

    from {{ partitions }} as current_weeks

    {%- if is_incremental() %}

    where not exists (
        select 1
        from {{ model_relation }} as built
        where built.municipality_code = current_weeks.municipality_code
            and built.school_year = current_weeks.school_year
            and built.partition_fingerprint = current_weeks.school_year_fingerprint
    )
    {%- endif %}
{%- endmacro %}

{#- A select of (municipality_code, student_key): the pupils whose every row this build
    writes, because their enrolments changed. `found`: the model reads the table of them the
    pre-hook made (delete_stale_partitions) instead of hashing the enrolments again. -#}
{% macro pupil_period_moved_pupils(model_relation, enrolments, found=false) -%}
    {{ return(adapter.dispatch('pupil_period_moved_pupils', 'absence')(model_relation, enrolments, found)) }}
{%- endmacro %}

{% macro default__pupil_period_moved_pupils(model_relation, enrolments, found=false) -%}
    {%- set built = built_state(model_relation) -%}
    {%- if built is not none and found %}
    select
        municipality_code,
        student_key

    from {{ sibling_relation(model_relation, 'moved_pupils') }}
    {%- elif built is not none %}
    select distinct
        municipality_code,
        student_key

    from (

        (
            {{ pupil_enrolment_hashes(enrolments) }}
            except
            select municipality_code, student_key, enrolment_count, enrolment_hash
            from {{ built['enrolments'] }}
        )

        union all

        (
            select municipality_code, student_key, enrolment_count, enrolment_hash
            from {{ built['enrolments'] }}
            except
            {{ pupil_enrolment_hashes(enrolments) }}
        )

    ) as changed_enrolments
    {%- else %}
    {#- Without state every week is pending: nobody needs rebuilding on top. -#}
    {{ no_pupils(enrolments) }}
    {%- endif %}
{%- endmacro %}

{% macro spark__pupil_period_moved_pupils(model_relation, enrolments, found=false) -%}
    {{ no_pupils(enrolments) }}
{%- endmacro %}

{#- An empty select of (municipality_code, student_key), typed like the enrolments. -#}
{% macro no_pupils(enrolments) -%}
    select
        municipality_code,
        student_key

    from {{ enrolments }}

    where 1 = 0
{%- endmacro %}

{#- Joins and a where clause, after `from records`, that keep the records this build
    writes: those dated in a pending week, and those of a moved pupil. `records` has
    municipality_code and student_key; the model's CTEs pending_weeks and moved_pupils.
    The municipality test first: DuckDB pushes it into the scan of the canonical Parquet,
    which then reads only the municipalities that changed (a night on which 30 deliver
    read every municipality's year and joined it to the weeks before). -#}
{% macro only_records_to_build(records, record_date) -%}
    left join pending_weeks
        on {{ records }}.municipality_code = pending_weeks.municipality_code
        and {{ school_year_label(records ~ '.' ~ record_date) }} = pending_weeks.school_year
        and {{ week_start(records ~ '.' ~ record_date) }} = pending_weeks.week_start

    left join moved_pupils
        on {{ records }}.municipality_code = moved_pupils.municipality_code
        and {{ records }}.student_key = moved_pupils.student_key

    where {{ records }}.municipality_code in (
            select weeks_to_build.municipality_code from pending_weeks as weeks_to_build
            union
            select pupils_to_build.municipality_code from moved_pupils as pupils_to_build
        )
        and (
            pending_weeks.municipality_code is not null
            or moved_pupils.municipality_code is not null
        )
{%- endmacro %}

{#- Pre-hook: delete the rows this build writes again (DuckDB). Those of the pending weeks
    and of the weeks that no longer exist, and every row of the moved pupils; without state,
    every row. -#}
{% macro delete_stale_partitions(this_relation, partitions, enrolments) -%}
    {{ return(adapter.dispatch('delete_stale_partitions', 'absence')(this_relation, partitions, enrolments)) }}
{%- endmacro %}

{% macro default__delete_stale_partitions(this_relation, partitions, enrolments) -%}
    {%- if is_incremental() -%}
    {%- if built_state(this_relation) is none -%}
    delete from {{ this_relation }};
    {{ start_pupil_changes(this_relation, rebuilt_all=true) }}
    {%- else -%}
    {#- The moved pupils are found once, kept for the post-hook (macros/pupil_changes.sql). -#}
    {%- set moved = sibling_relation(this_relation, 'moved_pupils') -%}
    create or replace table {{ moved }} as
    {{ pupil_period_moved_pupils(this_relation, enrolments) }};

    {#- One pass finds the rows (reading the few columns it needs), a second hashes what those
        rows hold: the build's changes are the pupils whose rows it wrote differently
        (macros/pupil_changes.sql). Hashing in the first pass read every column of the whole
        table: twice the time on 30 M rows. -#}
    {%- set stale_rows = this_relation.identifier ~ '__stale_rows' -%}
    {%- set stale_ids = this_relation.identifier ~ '__stale_ids' -%}
    create or replace temporary table {{ stale_ids }} as
    {{ rows_to_build_again(this_relation, partitions, enrolments, vanished_weeks=true,
                           moved=moved) }};

    create or replace temporary table {{ stale_rows }} as
    select rowid as row_id, municipality_code, student_key, school_year, period_end,
        {{ pupil_period_row_hash() }} as row_hash
    from {{ this_relation }}
    where rowid in (select row_id from {{ stale_ids }});

    drop table {{ stale_ids }};

    {{ start_pupil_changes(this_relation, rebuilt_all=false, stale_rows=stale_rows) }};

    delete from {{ this_relation }}
    where rowid in (select row_id from {{ stale_rows }});

    drop table {{ stale_rows }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- A select of the rowid (`row_id`) of the model's rows (DuckDB, with state) that this build
    writes again: those of the pending weeks, of the weeks that no longer exist
    (`vanished_weeks`) and of the moved pupils (`moved`: the table of them the pre-hook
    found). Inner joins, one per kind, and only the municipalities that have any: a
    correlated `exists (...) or exists (...)` became mark joins that computed every row's week
    and probed both, on the whole table. -#}
{% macro rows_to_build_again(this_relation, partitions, enrolments, vanished_weeks, moved) -%}
    {%- set built = built_state(this_relation) -%}
    with

    stale_weeks as (
        {{ pupil_period_pending_weeks(this_relation, partitions) }}
        {%- if vanished_weeks %}
        union all
        select municipality_code, school_year, week_start
        from {{ built['weeks'] }} as built_weeks
        where not exists (
            select 1
            from {{ partitions }} as current_weeks
            where current_weeks.municipality_code = built_weeks.municipality_code
                and current_weeks.school_year = built_weeks.school_year
                and current_weeks.week_start = built_weeks.week_start
        )
        {%- endif %}
    )

    select built_rows.rowid as row_id
    from {{ this_relation }} as built_rows
    inner join stale_weeks
        on built_rows.municipality_code = stale_weeks.municipality_code
        and built_rows.school_year = stale_weeks.school_year
        and {{ week_start('built_rows.period_end') }} = stale_weeks.week_start
    where built_rows.municipality_code in (select municipality_code from stale_weeks)

    union

    select built_rows.rowid as row_id
    from {{ this_relation }} as built_rows
    inner join {{ moved }} as moved_pupils
        on built_rows.municipality_code = moved_pupils.municipality_code
        and built_rows.student_key = moved_pupils.student_key
    where built_rows.municipality_code in (select municipality_code from {{ moved }})
{%- endmacro %}

{#- Spark overwrites the partitions it writes; nothing to delete first. A partition whose
    municipality or school year disappeared from the inputs altogether stays until a
    full refresh. -#}
{% macro spark__delete_stale_partitions(this_relation, partitions, enrolments) -%}
{%- endmacro %}

{#- Post-hooks: remember what the rows were built from (DuckDB), in the build's
    transaction. `kind` is 'weeks' or 'enrolments'. -#}
{% macro remember_built_inputs(this_relation, kind, partitions, enrolments) -%}
    {{ return(adapter.dispatch('remember_built_inputs', 'absence')(this_relation, kind, partitions, enrolments)) }}
{%- endmacro %}

{% macro default__remember_built_inputs(this_relation, kind, partitions, enrolments) -%}
    create or replace table {{ built_state_relation(this_relation, kind) }} as
    {%- if kind == 'weeks' %}
    select municipality_code, school_year, week_start, partition_fingerprint
    from {{ partitions }}
    {%- else %}
    {{ pupil_enrolment_hashes(enrolments) }}
    {%- endif %}
{%- endmacro %}

{% macro spark__remember_built_inputs(this_relation, kind, partitions, enrolments) -%}
{%- endmacro %}
