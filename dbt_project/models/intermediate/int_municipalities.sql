-- The municipalities of the reference classification (kunnat_2026) and the region
-- (maakunta) each belongs to (DESIGN §7 levels). The one place that decides a
-- municipality's region: enrolments, pupil periods, interventions and data_freshness take
-- it from here, so a pupil without an enrolment still has the region of their municipality.

with

municipalities as (

    select * from {{ ref('kunnat_2026') }}

),

final as (

    select
        kunta_code as municipality_code,
        maakunta_code as region_code

    from municipalities

)

select * from final
