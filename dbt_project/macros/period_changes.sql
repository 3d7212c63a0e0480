{#- absence_rates by period (DuckDB). A night changes the figures of a few periods: the two
    or three weeks of the windows delivered, their month or two, the term and the school
    year. Rolling up only those periods reads a fraction of int_pupil_period_totals (most of
    its rows are weeks); the other periods keep their rows.

    Which periods changed: the model's compile records, per period and place (school_year,
    period_type, period_start, period_end; region, municipality, school; grade band), the
    count and the sum of 64-bit hashes of the period totals' rows in `<model>__periods_now`;
    a period changed when any of its places differs from what the last build recorded
    (`<model>__periods_built`), or appeared or vanished. Those periods go to
    `<model>__changed_periods`; the pre-hook deletes their rows and the model rolls up only
    them. Everything else the model reads is one fingerprint (macros/unchanged_inputs.sql,
    without the period totals and the coverage): when it differs, or there is no record, every
    period is built again.

    data_through (the earliest coverage_end among the municipalities in a row) moves for
    periods whose figures did not change: any delivery moves its municipality's coverage. So
    the post-hook sets data_through and provisional on every row from the places each period
    holds (`__periods_now`, a few hundred thousand rows at national scale) and the coverage,
    rolled up the way the figures are, then records `__periods_now` as built.

    A whole build records too, so the night after the full load is already by period. A
    collision of the 64-bit sums would miss a change (`--full-refresh` rebuilds all). Spark
    builds the model whole (materialized 'table'). -#}

{% macro rate_period_keys() -%}
    {{ return(['school_year', 'period_type', 'period_start', 'period_end']) }}
{%- endmacro %}

{% macro rate_place_keys() -%}
    {{ return(['region_code', 'municipality_code', 'school_code', 'grade_band']) }}
{%- endmacro %}

{#- Where the model's SQL filters the period totals to the periods it builds: the marker in
    the whole build's SQL (a comment, so the digest of that SQL is of valid SQL), replaced by
    `periods_filter`. -#}
{% macro periods_filter_marker() -%}
    /* periods to build */
{%- endmacro %}

{#- `where exists` a row of `periods` (a relation of period keys) for the row of `alias`. -#}
{% macro in_periods(alias, periods) -%}
    where exists (
        select 1
        from {{ periods }} as periods
        where
        {%- for key in rate_period_keys() %}
            periods.{{ key }} = {{ alias }}.{{ key }}{% if not loop.last %} and{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{% macro periods_filter(totals_alias, periods) -%}
    {%- if periods is none -%}
    {{ return('') }}
    {%- endif -%}
    {{ in_periods(totals_alias, periods) }}
{%- endmacro %}

{#- Compile time: the relation of the periods to build again, or none (build every period). -#}
{% macro periods_to_build(this_relation, model_node, full_build, totals, skip) -%}
    {{ return(adapter.dispatch('periods_to_build', 'absence')(this_relation, model_node, full_build, totals, skip)) }}
{%- endmacro %}

{% macro default__periods_to_build(this_relation, model_node, full_build, totals, skip) -%}
    {%- if not execute or model_node.resource_type != 'model' -%}{{ return(none) }}{%- endif -%}
    {#- A whole build records too; `dbt compile` or `docs generate` of a whole one records
        nothing (its inputs may not exist yet). -#}
    {%- if not is_incremental() and flags.WHICH not in ['run', 'build'] -%}{{ return(none) }}{%- endif -%}
    {%- set now = sibling_relation(this_relation, 'periods_now') -%}
    {%- set built = sibling_relation(this_relation, 'periods_built') -%}
    {%- set changed = sibling_relation(this_relation, 'changed_periods') -%}
    {%- do run_query("drop table if exists " ~ changed) -%}
    {%- set same_inputs = inputs_unchanged(this_relation, model_node, full_build, skip=skip) -%}
    {%- set keys = rate_period_keys() + rate_place_keys() -%}
    {%- do run_query("create or replace table " ~ now ~ " as select " ~ keys | join(', ')
                     ~ ", count(*) as row_count, "
                     ~ "coalesce(sum(cast(hash(*columns(*)) as hugeint)), 0) as row_hash from "
                     ~ totals ~ " group by " ~ keys | join(', ')) -%}
    {%- if not is_incremental() or not same_inputs or not relation_exists(built) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- do run_query("create table " ~ changed ~ " as select distinct "
                     ~ rate_period_keys() | join(', ') ~ " from ("
                     ~ "(select * from " ~ now ~ " except select * from " ~ built ~ ") union all "
                     ~ "(select * from " ~ built ~ " except select * from " ~ now ~ "))") -%}
    {{ return(changed) }}
{%- endmacro %}

{% macro spark__periods_to_build(this_relation, model_node, full_build, totals, skip) -%}
    {{ return(none) }}
{%- endmacro %}

{#- Pre-hook: the rows of the periods built again; every row when there is no list. -#}
{% macro delete_periods_to_build(this_relation) -%}
    {{ return(adapter.dispatch('delete_periods_to_build', 'absence')(this_relation)) }}
{%- endmacro %}

{% macro default__delete_periods_to_build(this_relation) -%}
    {%- if is_incremental() -%}
    {%- set changed = sibling_relation(this_relation, 'changed_periods') -%}
    delete from {{ this_relation }}
    {%- if relation_exists(changed) %}
    {{ in_periods(this_relation, changed) }}
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_periods_to_build(this_relation) -%}
{%- endmacro %}

{#- Post-hook: data_through and provisional of every row from the places its period holds
    now, then what the rows are built from. -#}
{% macro remember_periods(this_relation, coverage) -%}
    {{ return(adapter.dispatch('remember_periods', 'absence')(this_relation, coverage)) }}
{%- endmacro %}

{% macro default__remember_periods(this_relation, coverage) -%}
    {%- set now = sibling_relation(this_relation, 'periods_now') -%}
    {%- if relation_exists(now) -%}
    update {{ this_relation }} as rates
    set
        data_through = reach.data_through,
        provisional = {{ is_provisional('rates.period_end', 'reach.data_through') }}
    from (
        {{ rollup('(select places.*, coverage.coverage_end from ' ~ now ~ ' as places left join '
                  ~ coverage ~ ' as coverage on places.municipality_code = coverage.municipality_code)',
                  rate_period_keys(), ['min(coverage_end) as data_through'],
                  all_of='grade_band') | indent(8) }}
    ) as reach
    where rates.level = reach.level
        {%- for key in rate_period_keys() + rate_place_keys() %}
        and rates.{{ key }} is not distinct from reach.{{ key }}
        {%- endfor %}
        and (rates.data_through is distinct from reach.data_through
             or rates.provisional is distinct from {{ is_provisional('rates.period_end', 'reach.data_through') }});

    create or replace table {{ sibling_relation(this_relation, 'periods_built') }} as
    select * from {{ now }};

    drop table {{ now }};

    drop table if exists {{ sibling_relation(this_relation, 'changed_periods') }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__remember_periods(this_relation, coverage) -%}
{%- endmacro %}
