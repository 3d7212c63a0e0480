-- Local absence ladders in lessons (DESIGN §7.2): the seed local_thresholds, where the var
-- `local_thresholds` (rows of the file ABSENCE_LOCAL_THRESHOLDS names, checked in
-- pipelines/config.py) replaces every seed row of each municipality it names. Configuration
-- only: a municipality's ladder is data, never code. Empty unless someone configured one.

{%- set configured_rows = var('local_thresholds', []) %}

with

seeded as (

    select
        cast(municipality_code as {{ dbt.type_string() }}) as municipality_code,
        cast(threshold_lessons as double) as threshold_lessons,
        cast(label as {{ dbt.type_string() }}) as label

    from {{ ref('local_thresholds') }}

),

configured as (

    {%- for row in configured_rows %}

    select
        cast({{ sql_text(row.municipality_code) }} as {{ dbt.type_string() }}) as municipality_code,
        cast({{ row.threshold_lessons | float }} as double) as threshold_lessons,
        cast({{ sql_text(row.label) }} as {{ dbt.type_string() }}) as label

    {% if not loop.last %}union all{% endif %}
    {%- else %}

    select * from seeded where 1 = 0
    {%- endfor %}

),

final as (

    select * from configured

    union all

    select seeded.*

    from seeded

    where not exists (
        select 1
        from configured
        where configured.municipality_code = seeded.municipality_code
    )

)

select * from final
