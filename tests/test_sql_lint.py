"""`make lint` lints the compiled dbt SQL in each engine's dialect (pipelines/sql_lint.py):
a construct only DuckDB parses passes the DuckDB pass and fails the Spark pass."""

from __future__ import annotations

from pipelines.sql_lint import lint

DUCKDB_ONLY = "select sum(cast(hash(a, b) as hugeint)::hugeint) as h from t\n"
PORTABLE = "select sum(cast(xxhash64(a, b) as decimal(38, 0))) as h from t\n"


def _models(tmp_path, sql: str):
    folder = tmp_path / "compiled" / "models"
    folder.mkdir(parents=True)
    (folder / "m.sql").write_text(sql, "utf-8")
    return folder


def test_duckdb_only_sql_fails_the_spark_pass_only(tmp_path):
    models = _models(tmp_path, DUCKDB_ONLY)
    assert lint(models, "duckdb") == 0
    assert lint(models, "sparksql") != 0


def test_portable_sql_passes_the_spark_pass(tmp_path):
    assert lint(_models(tmp_path, PORTABLE), "sparksql") == 0
