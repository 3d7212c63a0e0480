"""The marts dbt built, read the same way whichever engine built them (DESIGN §8.2).

On DuckDB the marts are tables in the restricted warehouse file (`absence.duckdb`, in
whatever schema dbt put them); on Spark they are Parquet folders under
`<warehouse>/spark/marts/<table>/`. `open_marts` gives publishing and the freshness check
one read-only DuckDB connection in which each mart is a view of that name, so nothing after
dbt knows which engine ran.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import duckdb

from pipelines.config import Settings


class MartsMissing(RuntimeError):
    """dbt has not built (all of) the marts asked for."""


@contextlib.contextmanager
def open_marts(settings: Settings, tables: Iterable[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection with a view per mart in `tables` (names are our
    constants, never data). Raises MartsMissing naming what dbt has not built."""
    tables = list(tables)
    con = duckdb.connect()
    try:
        if settings.engine == "spark":
            missing = [t for t in tables if not any((settings.spark_marts / t).glob("*.parquet"))]
            if missing:
                raise MartsMissing(f"dbt on Spark has not built {', '.join(sorted(missing))} "
                                   f"in {settings.spark_marts}")
            for table in tables:
                # The warehouse path holds no quote (Settings refuses one).
                con.execute(f'create view "{table}" as select * from '
                            f"read_parquet('{settings.spark_marts / table}/*.parquet')")
        else:
            if not settings.warehouse_db.exists():
                raise MartsMissing(f"dbt has not built {', '.join(sorted(tables))}: "
                                   f"{settings.warehouse_db} does not exist")
            con.execute(f"attach '{settings.warehouse_db}' as warehouse (read_only)")
            located = dict(con.execute(
                "select table_name, table_schema from information_schema.tables "
                "where table_catalog = 'warehouse' and table_name in ({})".format(
                    ", ".join("?" for _ in tables)), tables).fetchall())
            missing = set(tables) - set(located)
            if missing:
                raise MartsMissing(f"dbt has not built {', '.join(sorted(missing))} in "
                                   f"{settings.warehouse_db}")
            for table in tables:
                con.execute(f'create view "{table}" as select * from '
                            f'warehouse."{located[table]}"."{table}"')
        yield con
    finally:
        con.close()
