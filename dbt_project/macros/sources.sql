{#- The sources on each engine (DESIGN §8.2), run on-run-start. DuckDB reads the Parquet
    where it lies (`external_location` in __sources.yml): nothing to do. Spark gets, for each
    source with a `spark_location`, an external Parquet table over that folder, its files
    found recursively (the canonical files lie one folder down, per municipality), with the
    columns and types __sources.yml declares; dropped and declared again at every run, so the
    files a night added are read. Dropping an external table leaves its files alone. -#}
{% macro register_sources() -%}
    {{ return(adapter.dispatch('register_sources', 'absence')()) }}
{%- endmacro %}

{% macro default__register_sources() -%}
{%- endmacro %}

{% macro spark__register_sources() -%}
    {%- if execute -%}
    {%- for node in graph.sources.values() -%}
        {%- set location = node.config.meta.get('spark_location') or node.meta.get('spark_location') -%}
        {%- if location -%}
        {%- set columns = [] -%}
        {%- for column in node.columns.values() -%}
            {%- do columns.append(adapter.quote(column.name) ~ ' ' ~ column.data_type) -%}
        {%- endfor -%}
        {%- set relation = adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.identifier) -%}
        {%- do run_query('create database if not exists ' ~ adapter.quote(node.schema)) -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query(
            'create table ' ~ relation ~ ' (' ~ columns | join(', ') ~ ') using parquet'
            ~ ' options (path ' ~ sql_text(location) ~ ", recursiveFileLookup 'true',"
            ~ " pathGlobFilter '*.parquet')") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
