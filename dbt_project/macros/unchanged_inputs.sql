{#- A mart built whole from large inputs keeps its rows when nothing it is built from changed
    (DuckDB): absence_rates rolls up tens of millions of pupil-period rows at national scale,
    and a night on which the deliveries changed no figure (a window sent again unchanged)
    would roll them all up again for the same result.

    What it is built from, as one fingerprint: for each node the model depends on (its refs,
    those of its macros included) the count and the sum of 64-bit hashes of its rows (of the
    columns the model reads, where `read_columns` names them: not the load times of
    int_municipality_coverage, which every delivery moves), and a digest of the SQL of a
    whole build as compiled (`full_build`: the model's own SQL with every macro and variable
    it uses rendered in). The model renders it into `<model>__inputs_now` (at compile time,
    before its hooks run); the pre-hook deletes every row unless it equals the one the last
    build recorded (`<model>__inputs_built`), the model then selects nothing or everything,
    and the post-hook records it. A first build and `--full-refresh` record none: they build
    everything, as does the build after them when its inputs differ from the last recorded.
    A lost record builds everything; a collision of the 64-bit sums would miss a change
    (`--full-refresh` rebuilds all). Spark builds the model whole (materialized 'table'). -#}

{#- Compile time: record the fingerprint of what the model is built from now; true when it
    equals the one its last build recorded (the model then keeps its rows). -#}
{% macro inputs_unchanged(this_relation, model_node, full_build, read_columns={}, skip=[],
                          record_whole_builds=false) -%}
    {{ return(adapter.dispatch('inputs_unchanged', 'absence')(this_relation, model_node, full_build, read_columns, skip, record_whole_builds)) }}
{%- endmacro %}

{% macro default__inputs_unchanged(this_relation, model_node, full_build, read_columns, skip,
                                   record_whole_builds) -%}
    {%- if not execute or model_node.resource_type != 'model' -%}{{ return(false) }}{%- endif -%}
    {%- set now = sibling_relation(this_relation, 'inputs_now') -%}
    {%- if not is_incremental() and not (record_whole_builds and flags.WHICH in ['run', 'build']) -%}
        {#- Built whole: no fingerprint is recorded (one left by an earlier compile would not
            be what these rows are built from). With record_whole_builds a build's compile
            writes it afresh, so it is (not `dbt compile` or `docs generate`, which may run
            before the inputs exist). -#}
        {%- do run_query("drop table if exists " ~ now) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set counts = [] -%}
    {%- for node_id in model_node.depends_on.nodes | sort -%}
        {%- set node = graph.nodes[node_id] -%}
        {%- if node.name not in skip -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema,
                                               identifier=node.alias) -%}
        {%- set columns = read_columns.get(node.name, ['*columns(*)']) -%}
        {%- do counts.append("(select '" ~ node_id ~ ":' || count(*) || ':' || "
                             ~ "coalesce(sum(cast(hash(" ~ columns | join(', ')
                             ~ ") as hugeint)), 0) from " ~ relation ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set built = sibling_relation(this_relation, 'inputs_built') -%}
    {%- do run_query("create or replace table " ~ now ~ " as select "
                     ~ (counts | join(" || '|' || ") if counts else "''")
                     ~ " as inputs, '" ~ local_md5(full_build) ~ "' as code") -%}
    {%- if not is_incremental() or not relation_exists(built) -%}{{ return(false) }}{%- endif -%}
    {%- set same = run_query("select count(*) from " ~ now ~ " inner join " ~ built
                             ~ " using (inputs, code)").rows[0][0] -%}
    {{ return(same == 1) }}
{%- endmacro %}

{% macro spark__inputs_unchanged(this_relation, model_node, full_build, read_columns, skip,
                                 record_whole_builds) -%}
    {{ return(false) }}
{%- endmacro %}

{#- Pre-hook: every row goes, unless the model keeps them. -#}
{% macro delete_unless_inputs_unchanged(this_relation) -%}
    {{ return(adapter.dispatch('delete_unless_inputs_unchanged', 'absence')(this_relation)) }}
{%- endmacro %}

{% macro default__delete_unless_inputs_unchanged(this_relation) -%}
    {%- if is_incremental() -%}
    {%- set now = sibling_relation(this_relation, 'inputs_now') -%}
    {%- set built = sibling_relation(this_relation, 'inputs_built') -%}
    delete from {{ this_relation }}
    {%- if relation_exists(built) and relation_exists(now) %}
    where not exists (
        select 1
        from {{ now }}
        inner join {{ built }} using (inputs, code)
    )
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_unless_inputs_unchanged(this_relation) -%}
{%- endmacro %}

{#- Post-hook: record what the rows are now built from. -#}
{% macro remember_inputs(this_relation) -%}
    {{ return(adapter.dispatch('remember_inputs', 'absence')(this_relation)) }}
{%- endmacro %}

{% macro default__remember_inputs(this_relation) -%}
    {%- set now = sibling_relation(this_relation, 'inputs_now') -%}
    {%- if relation_exists(now) -%}
    create or replace table {{ sibling_relation(this_relation, 'inputs_built') }} as
    select * from {{ now }};

    drop table {{ now }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__remember_inputs(this_relation) -%}
{%- endmacro %}
