-- Rows rejected at ingest with the file, data row number and reason; never a pupil identifier
-- (ingest writes none into a reason). `row` and `column` are reserved words, quoted the
-- engine's way (on Spark "row" would be a string literal).

with

rejected as (

    select * from {{ source('quarantine', 'rejected_rows') }}

)

select
    municipality_code,
    extract_id,
    load_id,
    file,
    {{ adapter.quote('row') }} as row_number,
    {{ adapter.quote('column') }} as column_name,
    reason
from rejected
