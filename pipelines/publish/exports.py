"""Files an official opens without SQL (DESIGN §8.1): per scope (the country, each region) one
CSV per published table in Finnish Excel's dialect and one workbook with a sheet per table and
a `Selite` (legend) sheet.

CSV: UTF-8 with a byte-order mark (Excel's cue for UTF-8), `;` between fields, decimal comma,
dates as yyyy-mm-dd, and `..` — Statistics Finland's symbol — in every cell a suppression
hid. The workbook (XlsxWriter, the writer pandas and polars use, in constant-memory mode)
holds numbers as numbers, dates as dates and `..` as text. Every file is written aside and
renamed into place, like the other published files.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from pipelines.permissions import PUBLISHED_FILE, published_folder
from pipelines.publish.definitions import TableDoc
from pipelines.publish.workers import PARALLEL_FROM_ROWS, default_workers, map_forked
from pipelines.tables import MEASURE_ROLES, PUBLISHED

SUPPRESSED = ".."
LEGEND_SHEET = "Selite"


def cell_text(value: object) -> str:
    """A value as Finnish Excel reads it: decimal comma, ISO dates, empty for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        text = repr(float(value)) if isinstance(value, float) else str(value)
        if "e" in text or "E" in text:
            text = f"{float(value):.15f}".rstrip("0").rstrip(".")
        return text.removesuffix(".0").replace(".", ",")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _rows(name: str, table: pa.Table):
    """Rows as lists, with `..` where a suppression hid a measure."""
    measures = set(PUBLISHED[name].with_role(*MEASURE_ROLES)) if name in PUBLISHED else set()
    names = table.column_names
    hidden = [n in measures for n in names]
    flags = table["suppressed"].to_pylist() if "suppressed" in names else [False] * len(table)
    for values, suppressed in zip(zip(*(table[n].to_pylist() for n in names), strict=True),
                                  flags, strict=True):
        yield [SUPPRESSED if suppressed and h else v
               for v, h in zip(values, hidden, strict=True)]


def write_csv(path: Path, name: str, table: pa.Table) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.column_names)
    for row in _rows(name, table):
        writer.writerow([v if v == SUPPRESSED else cell_text(v) for v in row])
    _replace(path, ("\ufeff" + buffer.getvalue()).encode("utf-8"))


def write_workbook(path: Path, tables: Mapping[str, pa.Table], docs: Mapping[str, TableDoc],
                   legend: list[tuple[str, str]]) -> None:
    """One sheet per table, then `Selite`: each column's definition and the notes in
    `legend` (the suppression rule, how far the data go).

    XlsxWriter in constant-memory mode, one typed write per cell chosen from the column's
    Arrow type: numbers as numbers, dates and times as Excel dates, `..` and every string as
    text (never a formula, whatever it starts with). openpyxl took 60 % of a night's
    publishing for the same cells.
    """
    import xlsxwriter

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    published_folder(path.parent)
    book = xlsxwriter.Workbook(str(tmp), {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False})
    formats = {"date": book.add_format({"num_format": "yyyy-mm-dd"}),
               "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})}
    for name, table in tables.items():
        sheet = book.add_worksheet(name[:31])
        _write_sheet(sheet, name, table, formats)
    sheet = book.add_worksheet(LEGEND_SHEET)
    lines = [["taulu (table)", "sarake (column)", "määritelmä (definition)"]]
    lines += [["", note, text] for note, text in legend]
    for name in tables:
        doc = docs.get(name, TableDoc(""))
        lines.append([name, "", doc.description])
        lines += [[name, column, doc.columns.get(column, "")]
                  for column in tables[name].column_names]
    for number, line in enumerate(lines):
        for column, text in enumerate(line):
            sheet.write_string(number, column, text)
    book.close()
    os.chmod(tmp, PUBLISHED_FILE)
    os.replace(tmp, path)


def _write_sheet(sheet, name: str, table: pa.Table, formats: Mapping[str, object]) -> None:
    """The header, then every row in order (constant-memory mode flushes a row once the next
    one starts): a cell a suppression hid reads `..`, a missing value is left empty."""
    for column, header in enumerate(table.column_names):
        sheet.write_string(0, column, header)
    measures = set(PUBLISHED[name].with_role(*MEASURE_ROLES)) if name in PUBLISHED else set()
    flags = (table["suppressed"].to_pylist() if "suppressed" in table.column_names
             else [False] * table.num_rows)
    columns = [(column, table[field.name].to_pylist(), field.name in measures,
                _cell_writer(sheet, field.type, formats))
               for column, field in enumerate(table.schema)]
    for row, suppressed in enumerate(flags, start=1):
        for column, values, hidden, write in columns:
            if hidden and suppressed:
                sheet.write_string(row, column, SUPPRESSED)
            elif values[row - 1] is not None:
                write(row, column, values[row - 1])


def _cell_writer(sheet, kind: pa.DataType, formats: Mapping[str, object]):
    """How a column of this Arrow type goes into a cell."""
    if pa.types.is_boolean(kind):
        return sheet.write_boolean
    if pa.types.is_integer(kind):
        return sheet.write_number
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        def number(row: int, column: int, value) -> None:
            value = float(value)
            if math.isfinite(value):  # NaN and infinities have no cell value: left empty
                sheet.write_number(row, column, value)
        return number
    if pa.types.is_date(kind):
        return lambda row, column, value: sheet.write_datetime(row, column, value,
                                                               formats["date"])
    if pa.types.is_timestamp(kind):
        def instant(row: int, column: int, value: datetime) -> None:
            if value.tzinfo is not None:  # Excel has no time zones; published times are UTC
                value = value.astimezone(UTC).replace(tzinfo=None)
            sheet.write_datetime(row, column, value, formats["datetime"])
        return instant
    return lambda row, column, value: sheet.write_string(row, column, cell_text(value))


def write_scope(folder: Path, scope: str, tables: Mapping[str, pa.Table],
                docs: Mapping[str, TableDoc], legend: list[tuple[str, str]]) -> list[Path]:
    """`<folder>/<table>.csv` for every table and `<folder>/<scope>.xlsx`."""
    written = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        write_csv(path, name, table)
        written.append(path)
    workbook = folder / f"{scope}.xlsx"
    write_workbook(workbook, tables, docs, legend)
    return [*written, workbook]


def _replace(path: Path, data: bytes) -> None:
    published_folder(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.chmod(tmp, PUBLISHED_FILE)
    os.replace(tmp, path)


def write_exports(settings, workers: int | None = None,
                  parallel_from_rows: int = PARALLEL_FROM_ROWS) -> list[Path]:
    """Exports of every published scope, read back from the published DuckDB files (so they
    hold exactly what was published): `exports/national/` and `exports/regions/<rr>/`.

    Writing the cells is pure Python (a few µs each), so a large publication's scopes are
    written by `workers` forked processes (pipelines/publish/workers.py); the tables are read
    here and handed over, the workers only format and write.
    """
    import duckdb

    from pipelines.publish.definitions import published_docs

    docs = published_docs(settings.dbt_project_dir)
    published = settings.published
    scopes = [("national", published / "national.duckdb", published / "exports" / "national")]
    scopes += [(path.stem, path, published / "exports" / "regions" / path.stem)
               for path in sorted((published / "regions").glob("*.duckdb"))]
    jobs = []
    for scope, source, folder in scopes:
        with duckdb.connect(str(source), read_only=True) as con:
            names = [n for n in PUBLISHED if con.execute(
                "select count(*) from information_schema.tables where table_name = ?",
                [n]).fetchall()[0][0]]
            tables = {n: con.sql(f'select * from "{n}"').to_arrow_table() for n in names}
        jobs.append((folder, scope, tables, docs, legend(tables, settings)))
    weights = [sum(t.num_rows for t in job[2].values()) for job in jobs]
    if sum(weights) < parallel_from_rows:
        workers = 1
    written = map_forked(write_scope, jobs, weights, workers or default_workers())
    return [path for paths in written for path in paths]


def legend(tables: Mapping[str, pa.Table], settings) -> list[tuple[str, str]]:
    """The notes of a workbook's Selite sheet: suppression and how far the data go."""
    notes = [("..", f"Salattu (suppressed): luku perustuu alle {settings.suppression_threshold} "
                    "oppilaaseen, tai se on salattu, jotta salattu luku ei olisi laskettavissa "
                    "muista luvuista. A figure resting on fewer than "
                    f"{settings.suppression_threshold} pupils, or hidden so that no hidden "
                    "figure can be derived from the others.")]
    if "absence_rates" in tables and "data_through" in tables["absence_rates"].column_names:
        through = [d for d in tables["absence_rates"]["data_through"].to_pylist() if d]
        if through:
            notes.append(("data_through", f"Tiedot ulottuvat {min(through).isoformat()} – "
                                          f"{max(through).isoformat()} asti (data reach this "
                                          "far); provisional = viimeiset 14 päivää ovat "
                                          "vielä alustavia (the last 14 days may still be "
                                          "corrected)."))
    return notes
