-- Rows rejected at ingest with the file, data row number and reason; never a pupil identifier
-- (ingest writes none into a reason).

with

rejected as (

    select * from {{ source('quarantine', 'rejected_rows') }}

)

select
    municipality_code,
    extract_id,
    load_id,
    file,
    "row" as row_number,
    "column" as column_name,
    reason
from rejected
