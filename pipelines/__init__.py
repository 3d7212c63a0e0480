"""Regional absence statistics for Finnish schools: landing zone -> Parquet -> dbt -> published."""
