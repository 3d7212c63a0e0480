{#- One fingerprint of what a model keeping state is built from, besides the inputs it follows
    in finer detail (DuckDB). absence_rates follows its period totals by period and the
    coverage row by row (macros/period_changes.sql); everything else it reads (the place
    names, and its own SQL) changes rarely and then changes every row.

    The fingerprint: for each node the model depends on (its refs, those of its macros
    included) except those in `skip`, the count and the sum of 64-bit hashes of its rows, and
    a digest of the SQL of a whole build as compiled (`full_build`: the model's own SQL with
    every macro and variable it uses rendered in). A build's compile writes it into
    `<model>__inputs_now`, whole builds included (it is then what their rows are built from);
    the post-hook records it as `<model>__inputs_built`. `dbt compile` and `docs generate` of
    a whole build write none (its inputs may not exist yet). A lost record builds
    everything; a collision of the 64-bit sums would miss a change (`--full-refresh`
    rebuilds all). Spark builds such models whole (materialized 'table'). -#}

{#- Compile time: record the fingerprint of what the model is built from now; true when the
    build is incremental and it equals the one its last build recorded. -#}
{% macro inputs_unchanged(this_relation, model_node, full_build, skip=[]) -%}
    {{ return(adapter.dispatch('inputs_unchanged', 'absence')(this_relation, model_node, full_build, skip)) }}
{%- endmacro %}

{% macro default__inputs_unchanged(this_relation, model_node, full_build, skip) -%}
    {%- if not execute or model_node.resource_type != 'model' -%}{{ return(false) }}{%- endif -%}
    {%- set now = sibling_relation(this_relation, 'inputs_now') -%}
    {%- if not is_incremental() and flags.WHICH not in ['run', 'build'] -%}
        {#- Not a build: a fingerprint left by an earlier compile is not what rows are built
            from. -#}
        {%- do run_query("drop table if exists " ~ now) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set counts = [] -%}
    {%- for node_id in model_node.depends_on.nodes | sort -%}
        {%- set node = graph.nodes[node_id] -%}
        {%- if node.name not in skip -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema,
                                               identifier=node.alias) -%}
        {%- do counts.append("(select '" ~ node_id ~ ":' || count(*) || ':' || "
                             ~ "coalesce(sum(cast(hash(*columns(*)) as hugeint)), 0) from "
                             ~ relation ~ ")") -%}
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

{% macro spark__inputs_unchanged(this_relation, model_node, full_build, skip) -%}
    {{ return(false) }}
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
