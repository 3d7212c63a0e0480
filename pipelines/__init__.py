"""Regional absence statistics for Finnish schools: landing zone -> Parquet -> dbt -> published."""

import os
import sys

# With PySpark installed (the `spark` extra, DESIGN §8.2) two libraries of ours import it on
# their own: pandera imports pandas-on-Spark and, before that, sets PYARROW_IGNORE_TIMEZONE=1,
# which makes pyarrow drop the time zone of every Python datetime it converts (a ledger's
# `extracted_at` would shift); Great Expectations imports pyspark for its Spark datasource.
# Together 1 s per process and a FutureWarning about pandas 3 on every run; and with part of
# Spark Connect's dependencies missing, a PySpark module GX imports ends the whole process
# (sys.exit after "Skipping doctests"). Our processes use neither: dbt runs Spark in dbt's
# own process (dagster-dbt then logs that it could not open dbt's Spark adapter in-process;
# it only uses it for metadata). The empty value keeps pyarrow's default.
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "")
sys.modules.setdefault("pyspark", None)  # type: ignore[arg-type]
