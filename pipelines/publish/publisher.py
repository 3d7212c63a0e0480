"""Write the published files: suppressed aggregates only, each built aside and renamed in.

A reader that has a published file open keeps reading the old inode while the new file is
renamed over it, so nobody ever sees a half-written file (DESIGN §2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.config import Settings
from pipelines.marts import open_marts
from pipelines.permissions import PUBLISHED_FILE, published_folder
from pipelines.publish.definitions import TableDoc, published_docs
from pipelines.publish.suppression import RULES, suppress
from pipelines.publish.workers import PARALLEL_FROM_ROWS, map_forked
from pipelines.tables import PUBLISHED_TABLES

NATIONAL_LEVELS = ("national", "region", "municipality")
# A region file holds its own region's rows and, for comparison, the country's (DESIGN §8.1).
REGION_LEVELS = ("region", "municipality", "school")


@dataclass
class PublishResult:
    national: Path
    regions: dict[str, Path] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)
    preview: str = ""


def read_marts(settings: Settings) -> dict[str, pa.Table]:
    """The unsuppressed marts dbt built, on whichever engine (pipelines/marts.py)."""
    with open_marts(settings, PUBLISHED_TABLES) as con:
        # In a fixed order: secondary suppression picks the smallest sibling, and among equal
        # ones the first; row order must not decide what a night publishes.
        return {t: con.sql(f'select * from "{t}" order by all').to_arrow_table()
                for t in PUBLISHED_TABLES}


def apply_suppression(marts: dict[str, pa.Table], threshold: int) -> dict[str, pd.DataFrame]:
    """Suppressed copies of the marts as pandas frames (dates and decimals kept as objects)."""
    frames = {}
    for name, table in marts.items():
        frame = table.to_pandas(date_as_object=True)
        frames[name] = suppress(frame, RULES[name], threshold) if name in RULES else frame
    return frames


@dataclass
class PreparedTables:
    """The suppressed tables, ready to be checked and then written (nothing on disk yet)."""

    tables: dict[str, pd.DataFrame]
    schemas: dict[str, pa.Schema]
    threshold: int


def prepare(settings: Settings) -> PreparedTables:
    """Read the marts dbt built and suppress them; the quality gate validates this result."""
    raw = read_marts(settings)
    schemas = {name: table.schema for name, table in raw.items()}
    return PreparedTables(tables=apply_suppression(raw, settings.suppression_threshold),
                          schemas=schemas, threshold=settings.suppression_threshold)


def write(prepared: PreparedTables, settings: Settings, workers: int | None = None,
          parallel_from_rows: int = PARALLEL_FROM_ROWS) -> PublishResult:
    """Write national, region and Parquet files, each built aside and renamed into place;
    every table and column carries its definition from the dbt docs. The scopes' files are
    independent, so a large publication's are written by forked workers (one per core, as
    the exports and reports; pipelines/publish/workers.py)."""
    marts, docs = prepared.tables, published_docs(settings.dbt_project_dir)
    schemas = {name: _documented(schema, docs.get(name))
               for name, schema in prepared.schemas.items()}
    out = settings.published
    result = PublishResult(national=out / "national.duckdb")
    # Back to Arrow once per table; each file's rows are then filtered in Arrow.
    whole = {name: _arrow(frame, schemas[name]) for name, frame in marts.items()}
    national = {name: _levels(table, NATIONAL_LEVELS) for name, table in whole.items()}
    for name, frame in national.items():
        result.rows[name] = len(frame)
        if "suppressed" in frame.schema.names:
            result.suppressed[name] = frame["suppressed"].to_pylist().count(True)
    result.preview = national_preview(national["absence_rates"])
    # A file for every region with published figures (data_freshness also lists regions
    # where nobody has delivered yet; they get no file of their own).
    regions = sorted({code for frame in marts.values() if "level" in frame
                      for code in frame.loc[frame["level"] == "region", "region_code"]})
    jobs = [(result.national, out / "parquet", Path("national.parquet"), national, docs)]
    for region in regions:
        result.regions[region] = out / "regions" / f"{region}.duckdb"
        jobs.append((result.regions[region], out / "parquet", Path("regions", f"{region}.parquet"),
                     {name: _region(table, region) for name, table in whole.items()}, docs))
    weights = [sum(t.num_rows for t in job[3].values()) for job in jobs]
    map_forked(_write_scope, jobs, weights, workers, parallel_from_rows)
    return result


def _write_scope(path: Path, parquet: Path, name_in_table: Path, tables: dict[str, pa.Table],
                 docs: dict[str, TableDoc]) -> None:
    """One scope's DuckDB file, and its Parquet file of each table
    (`parquet/<table>/<name_in_table>`)."""
    _write_duckdb(path, tables, docs)
    for name, frame in tables.items():
        _write_parquet(parquet / name / name_in_table, frame)


def publish(settings: Settings) -> PublishResult:
    """Suppress, then write national, region and Parquet files atomically (no quality gate:
    the `published_statistics` asset validates between `prepare` and `write`)."""
    return write(prepare(settings), settings)


def national_preview(rates: pa.Table) -> str:
    """Markdown table of the national school-year rates by grade band, for Dagster metadata."""
    frame = rates.to_pandas()
    frame = frame[(frame["level"] == "national") & (frame["period_type"] == "school_year")]
    lines = ["| school year | grade band | pupils | absence rate | illness | unexplained |",
             "|---|---|---|---|---|---|"]
    for row in frame.sort_values(["school_year", "grade_band"]).itertuples():
        lines.append(f"| {row.school_year} | {row.grade_band} | {row.students} | "
                     f"{_pct(row.absence_rate)} | {_pct(row.illness_rate)} | "
                     f"{_pct(row.unexplained_rate)} |")
    return "\n".join(lines)


def _pct(value) -> str:
    return "suppressed" if value is None or pd.isna(value) else f"{float(value):.1%}"


def _levels(table: pa.Table, levels: tuple[str, ...]) -> pa.Table:
    if "level" not in table.schema.names:
        return table
    return table.filter(pc.is_in(table["level"], value_set=pa.array(levels)))


def _region(table: pa.Table, region: str) -> pa.Table:
    """The country's rows, then the region's own (in the marts' order within each)."""
    if "level" not in table.schema.names:  # data_freshness: the region's municipalities
        return table.filter(pc.equal(table["region_code"], region))
    own = _levels(table, REGION_LEVELS)
    return pa.concat_tables([table.filter(pc.equal(table["level"], "national")),
                             own.filter(pc.equal(own["region_code"], region))])


def _arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Back to Arrow with the mart's own types, so dates stay DATE and lessons DECIMAL."""
    frame = frame.astype(object).where(frame.notna(), None)
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _documented(schema: pa.Schema, doc: TableDoc | None) -> pa.Schema:
    """The schema with each column's definition (and the table's) as Parquet metadata."""
    if doc is None:
        return schema
    fields = [f.with_metadata({"description": doc.columns.get(f.name, "")}) for f in schema]
    return pa.schema(fields, metadata={"description": doc.description})


def _sql_text(text: str) -> str:
    """A string literal of our own documentation (COMMENT ON takes no parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _write_duckdb(path: Path, tables: dict[str, pa.Table], docs: dict[str, TableDoc]) -> None:
    published_folder(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    with duckdb.connect(str(tmp)) as con:
        # One transaction: a commit per table and per comment cost a fifth of the file.
        con.execute("begin")
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f'create table "{name}" as select * from frame')
            con.unregister("frame")
            doc = docs.get(name)
            if doc is None:
                continue
            con.execute(f'comment on table "{name}" is {_sql_text(doc.description)}')
            for column in frame.column_names:
                con.execute(f'comment on column "{name}"."{column}" is '
                            f"{_sql_text(doc.columns.get(column, ''))}")
        con.execute("commit")
        con.execute("checkpoint")
    # Group-readable, not world-readable: hand region files out per region (README).
    os.chmod(tmp, PUBLISHED_FILE)
    os.replace(tmp, path)
    Path(f"{tmp}.wal").unlink(missing_ok=True)


def _write_parquet(path: Path, table: pa.Table) -> None:
    published_folder(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.chmod(tmp, PUBLISHED_FILE)
    os.replace(tmp, path)
