"""Files an official opens without SQL (DESIGN §8.1): per scope (the country, each region) one
CSV per published table in Finnish Excel's dialect and one workbook with a sheet per table and
a `Selite` (legend) sheet.

CSV: UTF-8 with a byte-order mark (Excel's cue for UTF-8), `;` between fields, decimal comma,
dates as yyyy-mm-dd, and `..` — Statistics Finland's symbol — in every cell a suppression
hid. The workbook (openpyxl, already the stack's Excel library; write-only mode keeps memory
flat) holds numbers as numbers and `..` as text. Every file is written aside and renamed into
place, like the other published files.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from pipelines.permissions import PUBLISHED_FILE, published_folder
from pipelines.publish.definitions import TableDoc
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
    `legend` (the suppression rule, how far the data go)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, table in tables.items():
        sheet = book.create_sheet(title=name[:31])
        sheet.append(table.column_names)
        for row in _rows(name, table):
            sheet.append([_excel(v) for v in row])
    sheet = book.create_sheet(title=LEGEND_SHEET)
    sheet.append(["taulu (table)", "sarake (column)", "määritelmä (definition)"])
    for note, text in legend:
        sheet.append(["", note, text])
    for name in tables:
        doc = docs.get(name, TableDoc(""))
        sheet.append([name, "", doc.description])
        for column in tables[name].column_names:
            sheet.append([name, column, doc.columns.get(column, "")])
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    published_folder(path.parent)
    book.save(tmp)
    os.chmod(tmp, PUBLISHED_FILE)
    os.replace(tmp, path)


def _excel(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones; published times are UTC
    return value


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


def write_exports(settings) -> list[Path]:
    """Exports of every published scope, read back from the published DuckDB files (so they
    hold exactly what was published): `exports/national/` and `exports/regions/<rr>/`."""
    import duckdb

    from pipelines.publish.definitions import published_docs

    docs = published_docs(settings.dbt_project_dir)
    published = settings.published
    scopes = [("national", published / "national.duckdb", published / "exports" / "national")]
    scopes += [(path.stem, path, published / "exports" / "regions" / path.stem)
               for path in sorted((published / "regions").glob("*.duckdb"))]
    written: list[Path] = []
    for scope, source, folder in scopes:
        with duckdb.connect(str(source), read_only=True) as con:
            names = [n for n in PUBLISHED if con.execute(
                "select count(*) from information_schema.tables where table_name = ?",
                [n]).fetchall()[0][0]]
            tables = {n: con.sql(f'select * from "{n}"').to_arrow_table() for n in names}
        written += write_scope(folder, scope, tables, docs, legend(tables, settings))
    return written


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
