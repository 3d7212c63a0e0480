{#- The pupil-level models after int_pupil_periods rebuild only the pupils whose records
    changed (DuckDB): the year-to-date series, the period totals and the streak events
    compute within one pupil (and school year), never reading another pupil's rows; the
    Sunday snapshots also need the latest data of everyone (see the end of this file).

    int_pupil_periods says what its build changed, in two tables beside it (written by its
    hooks, in its build's transaction):
      - `<model>__changed_pupils` (student_key, school_year, changed_from): the pupils whose
        rows the build changed: rows deleted, added, or written again with other contents (a
        hash of every column but the load's extract_id and the week's fingerprint, macro
        pupil_period_row_hash), and every pupil whose enrolments changed (the Sunday
        snapshots read the enrolments themselves). A week re-sent with the same records
        rewrites its rows and changes nobody. changed_from is the earliest period_end whose
        rows changed (the pupil's rows before it are as they were), null for a pupil whose
        enrolments changed: a night's new day changes a pupil from that day on, and the
        year-to-date series writes again only the dates from there (macro
        series_rebuild_from);
      - `<model>__change_build` (build_id, after_build_id): this build (dbt's
        invocation_id) and the build it changed from; after_build_id is null when the build
        rebuilt every row.
    A model downstream remembers the build it reflects (`<model>__built_from`, with the
    metric variables it was built with). Its next build then
      - writes nothing when it already reflects the current build ('none', e.g. a run that
        built no pupil periods);
      - rebuilds the changed pupils when it reflects the build the current one changed from
        ('changed');
      - rebuilds everything otherwise ('all'): its first build, a full refresh, a missed
        build (it failed or was not selected while int_pupil_periods was built twice), other
        metric variables, or state tables missing.
    Spark builds these models whole (materialized 'table', macro incremental_on_duckdb); the
    hooks do nothing there. -#}

{% macro sibling_relation(model_relation, suffix) -%}
    {{ return(model_relation.incorporate(path={'identifier': model_relation.identifier ~ '__' ~ suffix})) }}
{%- endmacro %}

{#- Asks the database, not dbt's relation cache: the change tables are created by hooks,
    which the cache does not see within a run. With `column`: the table has that column. -#}
{% macro relation_exists(relation, column=none) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set found = run_query(
        "select count(*) from information_schema." ~ ('columns' if column else 'tables')
        ~ " where table_catalog = '" ~ relation.database ~ "' and table_schema = '"
        ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'"
        ~ (" and column_name = '" ~ column ~ "'" if column else '')).rows[0][0] -%}
    {{ return(found > 0) }}
{%- endmacro %}

{#- The metric variables a downstream model's rows depend on, as one string. -#}
{% macro pupil_change_settings() -%}
    {%- set names = ['targeted_threshold_pct', 'intensive_threshold_pct', 'min_scheduled_lessons',
                     'timely_before_days', 'timely_after_days', 'intensive_after_days',
                     'change_window_days', 'change_min_lessons'] -%}
    {%- set values = [] -%}
    {%- for name in names -%}{%- do values.append(name ~ '=' ~ var(name)) -%}{%- endfor -%}
    {{ return(values | join(';')) }}
{%- endmacro %}

{#- ---- Written by int_pupil_periods (DuckDB) ------------------------------------------ -#}

{#- Pre-hook: start this build's change record. `rebuilt_all`: every row is written again,
    so nothing downstream can use a list of pupils. `stale_rows`: a table of the
    (municipality_code, student_key, school_year, period_end, row_hash) of the rows about to
    be deleted (or none); their hashes per pupil and date are kept for the post-hook in
    `<model>__stale_pupils`, the moved pupils are in `<model>__moved_pupils` (macro
    delete_stale_partitions). -#}
{% macro start_pupil_changes(this_relation, rebuilt_all, stale_rows=none) -%}
    {%- set change_build = sibling_relation(this_relation, 'change_build') -%}
    {%- set changed = sibling_relation(this_relation, 'changed_pupils') -%}
    {%- if rebuilt_all or not relation_exists(change_build) -%}
        {%- set after_build = 'cast(null as varchar)' -%}
    {%- else -%}
        {%- set after_build = '(select max(build_id) from ' ~ change_build ~ ')' -%}
    {%- endif -%}
    create or replace table {{ change_build }} as
    select
        cast('{{ invocation_id }}' as varchar) as build_id,
        {{ after_build }} as after_build_id;

    create or replace table {{ changed }} as
    {%- if stale_rows is none %}
    select cast(null as varchar) as student_key, cast(null as varchar) as school_year,
        cast(null as date) as changed_from
    where 1 = 0
    {%- else %}
    {#- The moved pupils' now (every date); the others' once the post-hook has seen what was
        written. #}
    select distinct stale.student_key, stale.school_year, cast(null as date) as changed_from
    from {{ stale_rows }} as stale
    inner join {{ sibling_relation(this_relation, 'moved_pupils') }} as moved
        on stale.municipality_code = moved.municipality_code
        and stale.student_key = moved.student_key;

    create or replace table {{ sibling_relation(this_relation, 'stale_pupils') }} as
    {{ pupil_row_hashes(stale_rows) }}
    {%- endif %}
{%- endmacro %}

{#- What a row of int_pupil_periods holds, as a 64-bit hash: every column but the load's
    extract_id and the week's partition_fingerprint, which nothing after the model reads. -#}
{% macro pupil_period_row_hash() -%}
    hash(*columns(* exclude (extract_id, partition_fingerprint)))
{%- endmacro %}

{#- A select of (student_key, school_year, period_end, row_count, row_hash_sum) of `rows`
    (with row_hash): per pupil and date, so that a change is dated. -#}
{% macro pupil_row_hashes(rows) -%}
    select
        student_key,
        school_year,
        period_end,
        count(*) as row_count,
        sum(cast(row_hash as hugeint)) as row_hash_sum

    from {{ rows }}

    group by
        student_key,
        school_year,
        period_end
{%- endmacro %}

{#- Post-hook: add the pupils whose rows this build deleted, appended or wrote again with
    other contents (the hashes per pupil of the rows it deleted against those it appended),
    and the moved pupils' school years the new rows brought. dbt-duckdb's incremental
    materialisation builds them into a temporary table of this connection
    (`<model>__dbt_tmp<timestamp>`, macro make_temp_relation) and drops it only after the
    post-hooks: a night's rows, not the whole model. Should that table not be found (another
    dbt-duckdb), the rows are found in the model again. -#}
{% macro record_pupil_changes(this_relation, partitions, enrolments) -%}
    {{ return(adapter.dispatch('record_pupil_changes', 'absence')(this_relation, partitions, enrolments)) }}
{%- endmacro %}

{% macro default__record_pupil_changes(this_relation, partitions, enrolments) -%}
    {%- if is_incremental() and built_state(this_relation) is not none -%}
    {%- set appended = [] %}
    {%- if execute %}
        {%- set appended = run_query(
            "select table_name from duckdb_tables() where temporary and starts_with(table_name, '"
            ~ this_relation.identifier ~ "__dbt_tmp')").columns[0].values() %}
    {%- endif %}
    {%- set moved = sibling_relation(this_relation, 'moved_pupils') %}
    {%- set stale_pupils = sibling_relation(this_relation, 'stale_pupils') %}
    insert into {{ sibling_relation(this_relation, 'changed_pupils') }}
    with

    appended_rows as (
        select municipality_code, student_key, school_year, period_end,
            {{ pupil_period_row_hash() }} as row_hash
        {%- if appended | length == 1 %}
        from temp.main."{{ appended[0] }}"
        {%- else %}
        from {{ this_relation }}
        where rowid in (
            {{ rows_to_build_again(this_relation, partitions, enrolments, vanished_weeks=false,
                                   moved=moved) }}
        )
        {%- endif %}
    ),

    appended_pupils as (
        {{ pupil_row_hashes('appended_rows') }}
    ),

    -- A pupil date whose rows were deleted, added, or written with other contents.
    rewritten as (
        select coalesce(appended_pupils.student_key, stale_pupils.student_key) as student_key,
            coalesce(appended_pupils.school_year, stale_pupils.school_year) as school_year,
            coalesce(appended_pupils.period_end, stale_pupils.period_end) as changed_from
        from appended_pupils
        full outer join {{ stale_pupils }} as stale_pupils
            on appended_pupils.student_key = stale_pupils.student_key
            and appended_pupils.school_year = stale_pupils.school_year
            and appended_pupils.period_end = stale_pupils.period_end
        where appended_pupils.row_count is distinct from stale_pupils.row_count
            or appended_pupils.row_hash_sum is distinct from stale_pupils.row_hash_sum
    ),

    -- A moved pupil's school years that only the new rows have (the pre-hook wrote the
    -- others): every date.
    moved_appended as (
        select distinct appended_rows.student_key, appended_rows.school_year,
            cast(null as date) as changed_from
        from appended_rows
        inner join {{ moved }} as moved
            on appended_rows.municipality_code = moved.municipality_code
            and appended_rows.student_key = moved.student_key
    ),

    -- One row per pupil and school year: from the earliest date changed (null: every date).
    changes as (
        select student_key, school_year,
            case when bool_or(changed_from is null) then null else min(changed_from) end
                as changed_from
        from (
            select * from rewritten
            union all
            select * from moved_appended
        ) as dated
        group by student_key, school_year
    )

    select changes.student_key, changes.school_year, changes.changed_from
    from changes
    where not exists (
        select 1
        from {{ sibling_relation(this_relation, 'changed_pupils') }} as recorded
        where recorded.student_key = changes.student_key
            and recorded.school_year = changes.school_year
    );

    drop table {{ stale_pupils }};
    drop table {{ moved }}
    {%- elif not is_incremental() -%}
    {#- Created whole (first build, full refresh): the pre-hook had no table to read. -#}
    {{ start_pupil_changes(this_relation, rebuilt_all=true) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__record_pupil_changes(this_relation, partitions, enrolments) -%}
{%- endmacro %}

{#- ---- Read by the models downstream (DuckDB) ---------------------------------------- -#}

{#- 'all', 'changed' or 'none' (see the top of this file). Run time only. -#}
{% macro pupil_change_mode(this_relation, periods_relation) -%}
    {%- if not execute or not is_incremental() -%}{{ return('all') }}{%- endif -%}
    {%- set state = [sibling_relation(this_relation, 'built_from'),
                     sibling_relation(periods_relation, 'change_build')] -%}
    {%- for suffix in config.get('pupil_change_state', []) -%}
        {%- do state.append(sibling_relation(this_relation, suffix)) -%}
    {%- endfor -%}
    {%- for relation in state if not relation_exists(relation) -%}
        {{ return('all') }}
    {%- endfor -%}
    {%- set built_from, change_build = state[0], state[1] -%}
    {%- set rows = run_query(
        "select built_from.build_id, built_from.settings, change_build.build_id, "
        ~ "change_build.after_build_id from " ~ built_from ~ " as built_from cross join "
        ~ change_build ~ " as change_build").rows -%}
    {%- if rows | length != 1 or rows[0][1] != pupil_change_settings() -%}
        {{ return('all') }}
    {%- endif -%}
    {%- set reflected, current, changed_from = rows[0][0], rows[0][2], rows[0][3] -%}
    {%- if reflected is not none and reflected == current -%}{{ return('none') }}{%- endif -%}
    {%- if reflected is not none and reflected == changed_from -%}{{ return('changed') }}{%- endif -%}
    {{ return('all') }}
{%- endmacro %}

{#- The condition on `records` of the rows this build writes, or none: every row. By
    (student_key, school_year), or with `by_school_year=false` by student_key: every school
    year of a pupil with a change (a streak of absences runs on across school years). Only
    equalities in the EXISTS: DuckDB makes it a hash join (see macro delete_rows_from). -#}
{% macro changed_pupils_condition(this_relation, periods_relation, records, by_school_year=true) -%}
    {%- set mode = pupil_change_mode(this_relation, periods_relation) -%}
    {%- if mode == 'none' -%}
    {{ return('1 = 0') }}
    {%- elif mode == 'changed' -%}
    {{ return('exists (select 1 from ' ~ sibling_relation(periods_relation, 'changed_pupils')
              ~ ' as changed_pupils where changed_pupils.student_key = ' ~ records
              ~ '.student_key'
              ~ (' and changed_pupils.school_year = ' ~ records ~ '.school_year' if by_school_year else '')
              ~ ')') }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- A select of the records of int_pupil_periods this build reads: the changed pupils'. -#}
{% macro changed_pupil_periods(this_relation, periods_relation, by_school_year=true) -%}
    {{ changed_pupil_rows(this_relation, periods_relation, periods_relation, by_school_year) }}
{%- endmacro %}

{#- The same of another pupil-level relation (student_key, school_year) built from
    int_pupil_periods in the same run (the year-to-date series). -#}
{% macro changed_pupil_rows(this_relation, periods_relation, rows_relation, by_school_year=true) -%}
    {%- set condition = changed_pupils_condition(this_relation, periods_relation, 'pupil_rows',
                                                 by_school_year) -%}
    select *
    {%- if condition is none %}
    from {{ rows_relation }}
    {%- else %}
    from {{ rows_relation }} as pupil_rows
    where {{ condition }}
    {%- endif %}
{%- endmacro %}

{#- Pre-hook: delete the rows this build writes again: the changed pupils' (`numbered`: the
    model has pupil_id, macro pupil_numbers), with `from_column` only those dated from the
    pupil's change on. -#}
{% macro delete_changed_pupils(this_relation, periods_relation, by_school_year=true, numbered=false,
                               from_column=none) -%}
    {{ return(adapter.dispatch('delete_changed_pupils', 'absence')(this_relation, periods_relation, by_school_year, numbered, from_column)) }}
{%- endmacro %}

{% macro default__delete_changed_pupils(this_relation, periods_relation, by_school_year, numbered,
                                        from_column) -%}
    {%- if is_incremental() -%}
    {%- set mode = pupil_change_mode(this_relation, periods_relation) -%}
    {%- set changed = sibling_relation(periods_relation, 'changed_pupils') -%}
    {%- if mode == 'all' -%}
    delete from {{ this_relation }}
    {%- elif mode == 'changed' and numbered -%}
    {{ delete_rows_from(this_relation,
        'select numbered.pupil_id, changed_pupils.school_year, changed_pupils.changed_from from '
        ~ changed ~ ' as changed_pupils inner join ' ~ sibling_relation(this_relation, 'pupil_numbers')
        ~ ' as numbered on changed_pupils.student_key = numbered.student_key',
        ['pupil_id', 'school_year'], from_column, 'changed_from') }}
    {%- elif mode == 'changed' -%}
    {{ delete_rows_from(this_relation, 'select * from ' ~ changed,
                        ['student_key', 'school_year'] if by_school_year else ['student_key'],
                        from_column, 'changed_from') }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Delete the rows of `this_relation` that match a row of `keys` (a select) on `columns`,
    and with `date_column` only those dated on or after the key row's `from_column` (null:
    every date). DELETE ... USING, a hash join: the same as a correlated EXISTS, which DuckDB
    plans as a join on the equalities only when nothing else is in it (a date bound made it
    a nested evaluation, ten times slower, on tables of tens of millions of rows). -#}
{% macro delete_rows_from(this_relation, keys, columns, date_column=none, from_column=none) -%}
    delete from {{ this_relation }} as target_rows
    using ({{ keys }}) as key_rows
    where
        {%- for column in columns %}
        key_rows.{{ column }} = target_rows.{{ column }}{% if not loop.last or date_column %} and{% endif %}
        {%- endfor %}
        {%- if date_column %}
        (key_rows.{{ from_column }} is null
         or target_rows.{{ date_column }} >= key_rows.{{ from_column }})
        {%- endif %}
{%- endmacro %}

{% macro spark__delete_changed_pupils(this_relation, periods_relation, by_school_year, numbered,
                                      from_column) -%}
{%- endmacro %}

{#- Post-hook: remember the build of int_pupil_periods these rows reflect. -#}
{% macro remember_pupil_changes_seen(this_relation, periods_relation) -%}
    {{ return(adapter.dispatch('remember_pupil_changes_seen', 'absence')(this_relation, periods_relation)) }}
{%- endmacro %}

{% macro default__remember_pupil_changes_seen(this_relation, periods_relation) -%}
    {%- set change_build = sibling_relation(periods_relation, 'change_build') -%}
    {#- Still the mode of this build: `built_from` moves on only here. -#}
    {%- set rebuilt_all = pupil_change_mode(this_relation, periods_relation) == 'all' -%}
    create or replace table {{ sibling_relation(this_relation, 'built_from') }} as
    select
        {%- if relation_exists(change_build) %}
        (select max(build_id) from {{ change_build }}) as build_id,
        {%- else %}
        cast(null as varchar) as build_id,
        {%- endif %}
        cast('{{ pupil_change_settings() }}' as varchar) as settings,
        {{ 'true' if rebuilt_all else 'false' }} as rebuilt_all
{%- endmacro %}

{% macro spark__remember_pupil_changes_seen(this_relation, periods_relation) -%}
{%- endmacro %}

{#- ---- The year-to-date series from the date of a change (DuckDB) --------------------

    A night's new school day changes every pupil who has one, but only from that day: the
    series before it stays as it was. So int_pupil_ytd_series writes a changed pupil's
    series again from the last date before their earliest change (changed_from; that date's
    next_period_end may move), and its running totals start from the totals before that
    date, which the series itself holds (ytd less the date's own lessons, exact decimals).
    Its pre-hook keeps them in `<model>__rebuild_from` (student_key, school_year,
    rebuild_from, base_scheduled_lessons, base_absent_lessons; rebuild_from null: the whole
    school year, as for a pupil whose enrolments changed or whose first date changed), then
    deletes the rows from rebuild_from on. The date is looked for in the four weeks before
    changed_from, in one pass: a pupil with no date there (a holiday, a new school year) has
    the school year written whole. The table stays until the next build: the
    uniqueness test of the series tests the rows from rebuild_from on (macro
    rows_written_join). -#}

{% macro delete_changed_series(this_relation, periods_relation) -%}
    {{ return(adapter.dispatch('delete_changed_series', 'absence')(this_relation, periods_relation)) }}
{%- endmacro %}

{% macro default__delete_changed_series(this_relation, periods_relation) -%}
    {%- if is_incremental() and pupil_change_mode(this_relation, periods_relation) == 'changed' -%}
    {%- set rebuild = sibling_relation(this_relation, 'rebuild_from') -%}
    create or replace table {{ rebuild }} as
    with

    changed as (
        select * from {{ sibling_relation(periods_relation, 'changed_pupils') }}
    ),

    -- One pass over the four weeks before each change: the last date and its totals.
    last_date_before as (
        select
            series.student_key,
            series.school_year,
            max(series.period_end) as period_end,
            arg_max(series.ytd_scheduled_lessons - series.scheduled_lessons, series.period_end)
                as base_scheduled_lessons,
            arg_max(series.ytd_absent_lessons - series.absent_lessons, series.period_end)
                as base_absent_lessons
        from {{ this_relation }} as series
        inner join changed
            on series.student_key = changed.student_key
            and series.school_year = changed.school_year
        where series.period_end < changed.changed_from
            and series.period_end >= {{ add_days('changed.changed_from', -28) }}
        group by
            series.student_key,
            series.school_year
    )

    select
        changed.student_key,
        changed.school_year,
        last_date_before.period_end as rebuild_from,
        coalesce(last_date_before.base_scheduled_lessons, 0) as base_scheduled_lessons,
        coalesce(last_date_before.base_absent_lessons, 0) as base_absent_lessons
    from changed
    left join last_date_before
        on changed.student_key = last_date_before.student_key
        and changed.school_year = last_date_before.school_year;

    {{ delete_rows_from(this_relation, 'select * from ' ~ rebuild, ['student_key', 'school_year'],
                        'period_end', 'rebuild_from') }}
    {%- else -%}
    {%- if pupil_change_mode(this_relation, periods_relation) == 'all' %}
    drop table if exists {{ sibling_relation(this_relation, 'rebuild_from') }};
    {%- endif %}
    {{ delete_changed_pupils(this_relation, periods_relation) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_changed_series(this_relation, periods_relation) -%}
{%- endmacro %}

{#- A select of the pupil records the series build reads, with the totals before them
    (base_scheduled_lessons, base_absent_lessons): from rebuild_from on for a build of
    changed pupils, otherwise macro changed_pupil_periods with no totals before. -#}
{% macro series_records(this_relation, periods_relation) -%}
    {%- if pupil_change_mode(this_relation, periods_relation) == 'changed' %}
    select
        periods.*,
        rebuild.base_scheduled_lessons,
        rebuild.base_absent_lessons

    from {{ periods_relation }} as periods

    inner join {{ sibling_relation(this_relation, 'rebuild_from') }} as rebuild
        on periods.student_key = rebuild.student_key
        and periods.school_year = rebuild.school_year

    where rebuild.rebuild_from is null
        or periods.period_end >= rebuild.rebuild_from
    {%- else %}
    select
        *,
        cast(0 as decimal(18, 3)) as base_scheduled_lessons,
        cast(0 as decimal(18, 3)) as base_absent_lessons

    from ({{ changed_pupil_periods(this_relation, periods_relation) }}) as periods
    {%- endif %}
{%- endmacro %}

{#- Post-hook: the rebuild table (`<model>__rebuild_from`) served its build. -#}
{% macro drop_rebuild_from(this_relation) -%}
    {{ return(adapter.dispatch('drop_rebuild_from', 'absence')(this_relation)) }}
{%- endmacro %}

{% macro default__drop_rebuild_from(this_relation) -%}
    drop table if exists {{ sibling_relation(this_relation, 'rebuild_from') }}
{%- endmacro %}

{% macro spark__drop_rebuild_from(this_relation) -%}
{%- endmacro %}

{#- ---- Pupil numbers (int_pupil_period_totals, DuckDB) --------------------------------

    absence_rates counts distinct pupils over tens of millions of rows; a dense integer per
    pupil instead of the 64-character key keeps its hash tables small. An incremental build
    must number a pupil as the build before it did, so the numbers are kept beside the model
    (`<model>__pupil_numbers`; the model's `pupil_change_state` names it, and without the
    table it is built whole): a build that rebuilds everything numbers every pupil afresh
    (in key order), a build of changed pupils numbers the new ones after the highest number.
    A post-hook saves what the model used, before `remember_pupil_changes_seen` moves on. -#}

{#- A select of (student_key, pupil_id) for every pupil of `records` (a CTE of the model's
    pupil periods). -#}
{% macro pupil_numbers(this_relation, periods_relation, records) -%}
    {{ return(adapter.dispatch('pupil_numbers', 'absence')(this_relation, periods_relation, records)) }}
{%- endmacro %}

{% macro default__pupil_numbers(this_relation, periods_relation, records) -%}
    {%- if pupil_change_mode(this_relation, periods_relation) == 'all' %}
    {{ number_pupils_afresh(records) }}
    {%- else %}
    {%- set numbers = sibling_relation(this_relation, 'pupil_numbers') %}
    select student_key, pupil_id
    from {{ numbers }}

    union all

    {{ number_new_pupils(numbers, records) }}
    {%- endif %}
{%- endmacro %}

{#- Spark builds the model whole and counts the keys themselves: its row_number() needs an
    order, and monotonically_increasing_id() is not deterministic (a plan that reads the
    CTE twice would number it twice). -#}
{% macro spark__pupil_numbers(this_relation, periods_relation, records) -%}
    select distinct
        student_key,
        student_key as pupil_id

    from {{ records }}
{%- endmacro %}

{% macro number_pupils_afresh(records) -%}
    select
        student_key,
        dense_rank() over (order by student_key) as pupil_id

    from (select distinct student_key from {{ records }}) as pupils
{%- endmacro %}

{% macro number_new_pupils(numbers, records) -%}
    select
        new_pupils.student_key,
        (select coalesce(max(pupil_id), 0) from {{ numbers }})
            + row_number() over (order by new_pupils.student_key) as pupil_id

    from (select distinct student_key from {{ records }}) as new_pupils

    where not exists (
        select 1
        from {{ numbers }} as numbered
        where numbered.student_key = new_pupils.student_key
    )
{%- endmacro %}

{#- Post-hook: keep the numbers this build used. -#}
{% macro remember_pupil_numbers(this_relation, periods_relation) -%}
    {{ return(adapter.dispatch('remember_pupil_numbers', 'absence')(this_relation, periods_relation)) }}
{%- endmacro %}

{% macro default__remember_pupil_numbers(this_relation, periods_relation) -%}
    {%- set numbers = sibling_relation(this_relation, 'pupil_numbers') -%}
    {%- set mode = pupil_change_mode(this_relation, periods_relation) -%}
    {%- if mode == 'all' -%}
    create or replace table {{ numbers }} as
    {{ number_pupils_afresh(periods_relation) }}
    {%- elif mode == 'changed' -%}
    insert into {{ numbers }}
    with pupil_periods as (
        {{ changed_pupil_periods(this_relation, periods_relation) }}
    )
    {{ number_new_pupils(numbers, 'pupil_periods') }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__remember_pupil_numbers(this_relation, periods_relation) -%}
{%- endmacro %}

{#- ---- Sunday snapshots (int_pupil_tier_snapshots, DuckDB) ----------------------------

    A snapshot is every pupil's state on every Sunday of the school year up to the latest
    data, so a night that brings later data adds a Sunday for every pupil, changed or not.
    A build of changed pupils therefore writes the changed pupils' snapshots whole, and
    gives every other pupil the Sundays after the last one built: from their row on that
    Sunday and the points of their series after it (a week's records may have been loaded
    before the data reached its Sunday). The Sundays after the latest data (a correction
    that took the latest days away) are deleted first. -#}

{#- Pre-hook: delete the snapshots dated after the latest data of their school year. -#}
{% macro delete_snapshots_after_latest_data(this_relation, periods_relation, series_relation) -%}
    {{ return(adapter.dispatch('delete_snapshots_after_latest_data', 'absence')(this_relation, periods_relation, series_relation)) }}
{%- endmacro %}

{% macro default__delete_snapshots_after_latest_data(this_relation, periods_relation, series_relation) -%}
    {%- if is_incremental() and pupil_change_mode(this_relation, periods_relation) == 'changed' -%}
    {#- The latest dates first, one row per school year: correlated with the series itself,
        the delete grouped the whole series inside its plan, four times slower. -#}
    {%- set latest_dates = this_relation.identifier ~ '__latest_dates' -%}
    create or replace temporary table {{ latest_dates }} as
    select school_year, max(period_end) as latest_period_end
    from {{ series_relation }}
    group by school_year;

    delete from {{ this_relation }}
    where as_of_date > coalesce(
        (
            select latest.latest_period_end
            from {{ latest_dates }} as latest
            where latest.school_year = {{ this_relation }}.school_year
        ),
        cast('0001-01-01' as date)
    );

    drop table {{ latest_dates }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_snapshots_after_latest_data(this_relation, periods_relation, series_relation) -%}
{%- endmacro %}

{#- ---- The rows a build wrote, for the data tests (DuckDB) ----------------------------

    A data test of a pupil-level model that checks rows within one pupil (and school year),
    such as a uniqueness test on columns that include the pupil, can only fail on rows the
    last build wrote: every other row passed when it was written. At national scale the
    two uniqueness tests of int_pupil_periods and int_pupil_ytd_series read tens of millions
    of rows every night; restricted to the changed pupils they read a night's worth.

    The macro gives a join (an inner join to one row per pupil and school year, not a
    correlated EXISTS with a date bound, which DuckDB evaluates far more slowly) that keeps
    the rows of the changed pupils when the last build of the model wrote only those
    (int_pupil_periods: it changed from an earlier build; a model after it: it reflects that
    build and did not rebuild everything), and of those only the rows dated on or after the
    change: int_pupil_periods' from changed_from (a duplicate row changes its pupil's date:
    the hashes of what was deleted and written there differ), the year-to-date series' from
    where its build wrote from (`<model>__rebuild_from`, kept until the next build of
    changed pupils replaces it, dropped by one that rebuilds everything); a model with
    neither, every date of the changed pupils. Otherwise it is none: every row
    is tested, as after a first build or `--full-refresh`, and on Spark. The variable
    `test_every_row` (`dbt test --vars '{test_every_row: true}'`) tests every row whatever
    the last build did, e.g. after a test's definition changed. -#}
{% macro rows_written_join(model_relation, periods_identifier, rows) -%}
    {{ return(adapter.dispatch('rows_written_join', 'absence')(model_relation, periods_identifier, rows)) }}
{%- endmacro %}

{% macro default__rows_written_join(model_relation, periods_identifier, rows) -%}
    {%- if not execute or var('test_every_row', false) -%}{{ return(none) }}{%- endif -%}
    {%- set periods_relation = model_relation.incorporate(path={'identifier': periods_identifier}) -%}
    {%- set change_build = sibling_relation(periods_relation, 'change_build') -%}
    {%- set changed = sibling_relation(periods_relation, 'changed_pupils') -%}
    {%- set state = [change_build, changed] -%}
    {%- if model_relation.identifier == periods_identifier -%}
        {%- set question = "select after_build_id is not null from " ~ change_build -%}
    {%- else -%}
        {%- set built_from = sibling_relation(model_relation, 'built_from') -%}
        {%- do state.append(built_from) -%}
        {%- set question = "select built_from.build_id = change_build.build_id"
            ~ " and change_build.after_build_id is not null and not built_from.rebuilt_all"
            ~ " from " ~ built_from ~ " as built_from cross join " ~ change_build
            ~ " as change_build" -%}
    {%- endif -%}
    {%- for relation in state if not relation_exists(relation) -%}
        {{ return(none) }}
    {%- endfor -%}
    {%- if state | length == 3 and not relation_exists(built_from, 'rebuilt_all') -%}
        {#- Written before builds said whether they rebuilt everything. -#}
        {{ return(none) }}
    {%- endif -%}
    {%- set answer = run_query(question).rows -%}
    {%- if answer | length != 1 or not answer[0][0] -%}{{ return(none) }}{%- endif -%}
    {%- set rebuild = sibling_relation(model_relation, 'rebuild_from') -%}
    {%- if state | length == 3 and relation_exists(rebuild) -%}
        {#- The year-to-date series: its build kept where it wrote from. -#}
        {%- set written, from_column = rebuild, 'rebuild_from' -%}
    {%- elif state | length == 2 -%}
        {%- set written, from_column = changed, 'changed_from' -%}
    {%- else -%}
        {%- set written, from_column = changed, none -%}
    {%- endif -%}
    {#- One row per pupil and school year, so that the join repeats no tested row. -#}
    {%- set join -%}
    inner join (
        select
            student_key,
            school_year
            {%- if from_column %},
            case when bool_or({{ from_column }} is null) then null
                else min({{ from_column }}) end as written_from
            {%- endif %}
        from {{ written }}
        group by student_key, school_year
    ) as written_rows
        on written_rows.student_key = {{ rows }}.student_key
        and written_rows.school_year = {{ rows }}.school_year
        {%- if from_column %}
        and (written_rows.written_from is null or {{ rows }}.period_end >= written_rows.written_from)
        {%- endif %}
    {%- endset -%}
    {{ return(join) }}
{%- endmacro %}

{% macro spark__rows_written_join(model_relation, periods_identifier, rows) -%}
    {{ return(none) }}
{%- endmacro %}

{#- ---- Crossings (int_pupil_crossings, DuckDB) ----------------------------------------

    A pupil's crossings read their series (every school year: the windows of a rate change
    may reach over a summer) and their interventions. A build of changed pupils writes again
    every crossing of the pupils whose records changed and of those whose interventions
    changed since the last build: a hash of each pupil's interventions is kept beside the
    model (`<model>__built_interventions`; its `pupil_change_state` names it, and without
    the table everything is built). -#}

{#- A select of (student_key, intervention_count, intervention_hash) of `interventions`: what
    the crossings read of them (not the load's extract_id: a week sent again unchanged
    changes nobody). -#}
{% macro pupil_intervention_hashes(interventions) -%}
    select
        student_key,
        count(*) as intervention_count,
        {{ hash_sum(['student_key', 'intervention_date', 'intervention_type', 'tier']) }}
            as intervention_hash

    from {{ interventions }}

    group by student_key
{%- endmacro %}

{#- The condition on `records` (with student_key) of the crossings this build writes, or
    none: every one. -#}
{% macro changed_crossings_condition(this_relation, periods_relation, interventions, records) -%}
    {%- if pupil_change_mode(this_relation, periods_relation) == 'all' -%}{{ return(none) }}{%- endif -%}
    {%- set built = sibling_relation(this_relation, 'built_interventions') -%}
    {%- set records_changed = changed_pupils_condition(this_relation, periods_relation, records,
                                                       by_school_year=false) -%}
    {%- set condition -%}
    ({{ records_changed }})
    or {{ records }}.student_key in (
        select changed_interventions.student_key
        from (
            (
                {{ pupil_intervention_hashes(interventions) }}
                except
                select student_key, intervention_count, intervention_hash from {{ built }}
            )
            union all
            (
                select student_key, intervention_count, intervention_hash from {{ built }}
                except
                {{ pupil_intervention_hashes(interventions) }}
            )
        ) as changed_interventions
    )
    {%- endset -%}
    {{ return(condition) }}
{%- endmacro %}

{#- Pre-hook: delete the crossings this build writes again. -#}
{% macro delete_changed_crossings(this_relation, periods_relation, interventions) -%}
    {{ return(adapter.dispatch('delete_changed_crossings', 'absence')(this_relation, periods_relation, interventions)) }}
{%- endmacro %}

{% macro default__delete_changed_crossings(this_relation, periods_relation, interventions) -%}
    {%- if is_incremental() -%}
    {%- set condition = changed_crossings_condition(this_relation, periods_relation, interventions,
                                                    this_relation) -%}
    delete from {{ this_relation }}
    {%- if condition is not none %}
    where {{ condition }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_changed_crossings(this_relation, periods_relation, interventions) -%}
{%- endmacro %}

{#- Post-hook, after remember_pupil_changes_seen: keep the interventions' hashes. -#}
{% macro remember_intervention_hashes(this_relation, interventions) -%}
    {{ return(adapter.dispatch('remember_intervention_hashes', 'absence')(this_relation, interventions)) }}
{%- endmacro %}

{% macro default__remember_intervention_hashes(this_relation, interventions) -%}
    create or replace table {{ sibling_relation(this_relation, 'built_interventions') }} as
    {{ pupil_intervention_hashes(interventions) }}
{%- endmacro %}

{% macro spark__remember_intervention_hashes(this_relation, interventions) -%}
{%- endmacro %}

{#- ---- Streak events from the date of a change (int_pupil_streak_events, DuckDB) --------

    A streak is a run of the pupil's school days of full-day absence; a school day on which
    the pupil attended a lesson ends every run before it. So for a pupil whose records
    changed from changed_from on, the last such day before it (N) bounds what can change:
    every streak that starts on or before N ended before N and stays, and the days after N
    start afresh. The events have a first_day (a streak's first day; a `pupil` event's first
    school day in its place and term), so a build deletes and writes again a changed pupil's
    events with first_day after N, from their records after N; a `pupil` event that kept a
    school day on or before N stays, and the build writes none for its place and term again.
    N is looked for in the four weeks before changed_from (one pass over those weeks of the
    changed pupils' records); a pupil without one there (four weeks of full-day absence, a
    holiday, a new school year) or without a changed_from (their enrolments changed) has
    every event written again. The pre-hook keeps (student_key, rebuild_from: the day after
    N, null for every event) in `<model>__rebuild_from` for the build; a post-hook drops it.
    A streak runs on across school years: a pupil's changes of every school year count,
    the earliest. -#}

{% macro delete_changed_streak_events(this_relation, periods_relation) -%}
    {{ return(adapter.dispatch('delete_changed_streak_events', 'absence')(this_relation, periods_relation)) }}
{%- endmacro %}

{% macro default__delete_changed_streak_events(this_relation, periods_relation) -%}
    {%- if is_incremental() and pupil_change_mode(this_relation, periods_relation) == 'changed' -%}
    {%- set rebuild = sibling_relation(this_relation, 'rebuild_from') -%}
    create or replace table {{ rebuild }} as
    with

    changed as (
        select
            student_key,
            case when bool_or(changed_from is null) then null else min(changed_from) end
                as changed_from
        from {{ sibling_relation(periods_relation, 'changed_pupils') }}
        group by student_key
    ),

    -- The changed pupils' school days in the four weeks before their change.
    school_days_before as (
        select
            periods.student_key,
            periods.period_end,
            sum(periods.absent_lessons) < sum(periods.scheduled_lessons) as attended
        from {{ periods_relation }} as periods
        inner join changed
            on periods.student_key = changed.student_key
        where periods.period_start = periods.period_end
            and periods.scheduled_lessons > 0
            and periods.period_end < changed.changed_from
            and periods.period_end >= {{ add_days('changed.changed_from', -28) }}
        group by
            periods.student_key,
            periods.period_end
    ),

    last_attended as (
        select
            student_key,
            max(period_end) as period_end
        from school_days_before
        where attended
        group by student_key
    )

    select
        changed.student_key,
        {{ add_days('last_attended.period_end', 1) }} as rebuild_from
    from changed
    left join last_attended
        on changed.student_key = last_attended.student_key;

    {{ delete_rows_from(this_relation, 'select * from ' ~ rebuild, ['student_key'], 'first_day',
                        'rebuild_from') }}
    {%- else -%}
    {{ delete_changed_pupils(this_relation, periods_relation, by_school_year=false) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_changed_streak_events(this_relation, periods_relation) -%}
{%- endmacro %}

{#- A select of the pupil records the streak events build reads, with rebuild_from (null:
    every record): after the last attended day before the change for a build of changed
    pupils, otherwise macro changed_pupil_periods. -#}
{% macro streak_records(this_relation, periods_relation) -%}
    {%- if pupil_change_mode(this_relation, periods_relation) == 'changed' %}
    select
        periods.*,
        rebuild.rebuild_from

    from {{ periods_relation }} as periods

    inner join {{ sibling_relation(this_relation, 'rebuild_from') }} as rebuild
        on periods.student_key = rebuild.student_key

    where rebuild.rebuild_from is null
        or periods.period_end >= rebuild.rebuild_from
    {%- else %}
    select
        *,
        cast(null as date) as rebuild_from

    from ({{ changed_pupil_periods(this_relation, periods_relation, by_school_year=false) }})
        as periods
    {%- endif %}
{%- endmacro %}

{#- The `pupil` events a build of changed pupils keeps (first_day before rebuild_from, the
    rows the pre-hook left of the changed pupils): the build writes none again for their
    place and term. Only in a build of changed pupils. -#}
{% macro kept_pupil_events(this_relation) -%}
    select kept.*
    from {{ this_relation }} as kept
    inner join {{ sibling_relation(this_relation, 'rebuild_from') }} as rebuild
        on kept.student_key = rebuild.student_key
    where kept.event = 'pupil'
{%- endmacro %}
