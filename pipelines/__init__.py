"""Regional absence statistics for Finnish schools: landing zone -> Parquet -> dbt -> published."""

import os
import sys
import warnings

# With PySpark installed (the `spark` extra, DESIGN §8.2), pandera imports pandas-on-Spark on
# import and, before that, sets PYARROW_IGNORE_TIMEZONE=1, which makes pyarrow drop the time
# zone of every Python datetime it converts (a ledger's `extracted_at` would shift by its UTC
# offset). The empty value keeps pyarrow's default, and pandas-on-Spark (0.7 s per process)
# is never imported in our processes. PySpark itself stays importable: dagster-dbt opens
# dbt's Spark adapter in-process. Its warning about pandas 3 concerns pandas-on-Spark only.
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "")
sys.modules.setdefault("pyspark.pandas", None)  # type: ignore[arg-type]
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                        category=FutureWarning)
