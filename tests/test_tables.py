"""Each table's shape is declared once (pipelines/tables.py); dbt's YAML must agree with it.

A column added to the ledger but not to the dbt source, or a published column whose contract
type drifted, fails here rather than in a night's build or an official's query.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines.ingest.ledger import LEDGER_SCHEMA
from pipelines.ingest.writer import CANONICAL_SCHEMAS
from pipelines.tables import CANONICAL, LEDGER, PUBLISHED, PULL_STATUS, REJECTED_ROWS

DBT = Path(__file__).resolve().parents[1] / "dbt_project"


def _sources() -> dict[tuple[str, str], list[str]]:
    document = yaml.safe_load((DBT / "models/staging/__sources.yml").read_text("utf-8"))
    return {(source["name"], table["name"]): [c["name"] for c in table.get("columns", [])]
            for source in document["sources"] for table in source["tables"]}


def _contracts(engine: str = "duckdb") -> dict[str, list[tuple[str, str]]]:
    """Each contract's (column, data_type), a type dbt renders per target rendered for
    `engine` (the instants of data_freshness)."""
    document = yaml.safe_load((DBT / "models/marts/_marts.yml").read_text("utf-8"))
    target = {"type": engine}
    return {model["name"]: [(c["name"], jinja2.Template(c.get("data_type") or "")
                             .render(target=target) or None) for c in model["columns"]]
            for model in document["models"]}


def _source_types() -> dict[tuple[str, str], list[tuple[str, str]]]:
    document = yaml.safe_load((DBT / "models/staging/__sources.yml").read_text("utf-8"))
    return {(source["name"], table["name"]): [(c["name"], c.get("data_type"))
                                              for c in table.get("columns", [])]
            for source in document["sources"] for table in source["tables"]}


def _spark_type(arrow: pa.DataType) -> str:
    """The Spark SQL type the files' Arrow type reads as."""
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    return {pa.string(): "string", pa.int32(): "int", pa.int64(): "bigint",
            pa.date32(): "date"}.get(arrow) or ("timestamp" if pa.types.is_timestamp(arrow)
                                                 else str(arrow))


@pytest.mark.parametrize("table", sorted(CANONICAL))
def test_dbt_canonical_sources_list_the_declared_columns(table):
    assert _sources()[("canonical", table)] == CANONICAL[table].names


def test_dbt_ledger_source_lists_the_declared_columns():
    assert _sources()[("ledger", "extracts")] == LEDGER.names


def test_dbt_quarantine_source_lists_the_declared_columns():
    assert _sources()[("quarantine", "rejected_rows")] == REJECTED_ROWS.names


def test_dbt_pull_status_source_lists_the_declared_columns():
    assert _sources()[("pull", "status")] == PULL_STATUS.names


def test_every_published_table_has_a_contract_with_the_declared_columns_and_types():
    contracts = _contracts()
    for name, table in PUBLISHED.items():
        assert contracts[name] == [(c.name, c.type) for c in table.columns], name


def test_contract_types_are_portable_across_engines():
    """DESIGN §8.2: one contract for DuckDB and Spark. Only the instants differ by target
    (Spark's `timestamp` is DuckDB's `timestamp with time zone`); no DuckDB-only name."""
    duck, spark = _contracts("duckdb"), _contracts("spark")
    for name in PUBLISHED:
        differing = [(a, b) for a, b in zip(duck[name], spark[name], strict=True) if a != b]
        assert all(a[1] == "timestamp with time zone" and b[1] == "timestamp"
                   for a, b in differing), name
        assert not {t for _, t in spark[name]} & {"varchar", "hugeint", "timestamptz"}, name


def test_dbt_sources_declare_the_types_spark_reads_the_files_with():
    """Spark skips `_schema.parquet` (a leading underscore hides a file), so the external
    tables of macros/sources.sql take their types from __sources.yml."""
    declared = {("canonical", n): t for n, t in CANONICAL.items()}
    declared |= {("ledger", "extracts"): LEDGER, ("quarantine", "rejected_rows"): REJECTED_ROWS,
                 ("pull", "status"): PULL_STATUS}
    types = _source_types()
    for key, table in declared.items():
        assert types[key] == [(c.name, _spark_type(c.type)) for c in table.columns], key


def test_the_files_ingest_writes_have_the_declared_schemas(settings):
    from pipelines.ingest.extract import ensure_layout

    ensure_layout(settings)
    for name, schema in CANONICAL_SCHEMAS.items():
        written = pq.read_schema(settings.canonical / name / "_schema.parquet")
        assert written.remove_metadata() == schema == CANONICAL[name].schema()
    written = pq.read_schema(settings.ledger / "_schema.parquet").remove_metadata()
    assert written == LEDGER_SCHEMA == LEDGER.schema()
