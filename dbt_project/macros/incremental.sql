{#- Replacing whole partitions of an incremental model (int_pupil_periods), per engine
    (DESIGN §8.2). The model selects the rows of the partitions to replace. -#}

{% macro partition_replace_strategy() -%}
    {{ return(adapter.dispatch('partition_replace_strategy', 'absence')()) }}
{%- endmacro %}

{#- DuckDB: the pre-hook below deletes the stale partitions, the new rows are appended. -#}
{% macro default__partition_replace_strategy() -%}
    {{ return('append') }}
{%- endmacro %}

{#- Spark: dynamic partition overwrite (partitionOverwriteMode=dynamic in the profile). -#}
{% macro spark__partition_replace_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{#- Pre-hook: delete the rows whose (municipality, school year) partition no longer has the
    fingerprint they were built with, or no longer exists. A table from before partitioning
    (no fingerprint column) is emptied and gets the column. -#}
{% macro delete_stale_partitions(this_relation, partitions) -%}
    {{ return(adapter.dispatch('delete_stale_partitions', 'absence')(this_relation, partitions)) }}
{%- endmacro %}

{% macro default__delete_stale_partitions(this_relation, partitions) -%}
    {%- if is_incremental() -%}
    {%- set built_columns = adapter.get_columns_in_relation(this_relation) | map(attribute='name') | list -%}
    {%- if 'partition_fingerprint' not in built_columns -%}
    delete from {{ this_relation }};
    alter table {{ this_relation }} add column partition_fingerprint {{ dbt.type_string() }};
    {%- else -%}
    delete from {{ this_relation }}
    where not exists (
        select 1
        from {{ partitions }} as current_partitions
        where current_partitions.municipality_code = {{ this_relation }}.municipality_code
            and current_partitions.school_year = {{ this_relation }}.school_year
            and current_partitions.partition_fingerprint = {{ this_relation }}.partition_fingerprint
    )
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Spark overwrites the partitions it writes; nothing to delete first. A partition whose
    municipality or school year disappeared from the inputs altogether stays until a
    full refresh. -#}
{% macro spark__delete_stale_partitions(this_relation, partitions) -%}
{%- endmacro %}
