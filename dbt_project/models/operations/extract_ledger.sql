-- Every drop seen, whatever its status: the operations view of DESIGN §3 (restricted
-- warehouse only; `data_freshness` is its published summary).

with

ledger as (

    select * from {{ source('ledger', 'extracts') }}

)

select
    municipality_code,
    extract_id,
    load_id,
    profile,
    extracted_at,
    coverage_start,
    coverage_end,
    status,
    reason,
    manifest_sha256,
    file_sha256,
    rows_read,
    rows_loaded,
    rows_rejected,
    rows_duplicate,
    duplicates,
    schema_drift,
    top_reasons,
    drop_path,
    started_at,
    finished_at
from ledger
