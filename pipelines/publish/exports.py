"""Files an official opens without SQL (DESIGN §8.1): per scope (the country, each region) one
CSV per published table in Finnish Excel's dialect and one workbook with a sheet per table and
a `Selite` (legend) sheet.

CSV: UTF-8 with a byte-order mark (Excel's cue for UTF-8), `;` between fields, decimal comma,
dates as yyyy-mm-dd, numbers in full (the shortest digits that read back as the same number,
never an exponent), and `..` — Statistics Finland's symbol — in every cell a suppression hid.
The workbook holds numbers as numbers, dates as dates and `..` and every string as text (never
a formula, whatever it starts with). Every file is written aside and renamed into place, like
the other published files.

A country's exports are some nine million cells. Writing them one call per cell (csv, and
XlsxWriter in constant-memory mode) took 83 CPU-seconds at scale 0.01, so the cells are
formatted a column at a time with Arrow compute: the CSV's fields and the worksheets' `<row>`
elements.
XlsxWriter still writes each workbook (its package, styles, the header rows and the `Selite`
sheet); the table sheets' rows are then put into its `<sheetData>` as the same SpreadsheetML
XlsxWriter writes in constant-memory mode (inline strings, escaped as it escapes them). Values
Arrow does not format the way we want (an exponent, a control character, a string past Excel's
32,767 characters, a time) take a per-cell path.
"""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.permissions import PUBLISHED_FILE, published_folder
from pipelines.publish.definitions import TableDoc
from pipelines.publish.workers import PARALLEL_FROM_ROWS, map_forked
from pipelines.tables import MEASURE_ROLES, PUBLISHED

SUPPRESSED = ".."
LEGEND_SHEET = "Selite"
EXCEL_DAY_0 = datetime(1899, 12, 30)  # serial day 0 of Excel's 1900 date system
EXCEL_EPOCH_DAYS = 25569  # 1970-01-01 as an Excel serial day
EXCEL_MAX_TEXT = 32767  # characters (UTF-16 code units) a cell holds
# The characters SpreadsheetML writes as _xHHHH_, for Arrow (RE2) and for Python.
CONTROL = "[\\x00-\\x08\\x0B-\\x1F\\x{FFFE}\\x{FFFF}]"
CONTROL_PYTHON = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]")
CSV_QUOTED = '[;"\\r\\n]'  # fields the csv module would quote (QUOTE_MINIMAL)


def cell_text(value: object) -> str:
    """A value as Finnish Excel reads it: decimal comma, ISO dates, empty for missing; a
    number in its shortest round-trip digits, without an exponent."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        text = repr(float(value)) if isinstance(value, float) else str(value)
        if "e" in text or "E" in text:
            text = format(Decimal(text), "f")
        return text.removesuffix(".0").replace(".", ",")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _hidden(name: str, table: pa.Table) -> tuple[set[str], pa.Array | None]:
    """The measures a suppression hides and the rows where it did (None: nothing hidden)."""
    measures = set(PUBLISHED[name].with_role(*MEASURE_ROLES)) if name in PUBLISHED else set()
    if "suppressed" not in table.column_names or not measures:
        return measures, None
    return measures, pc.fill_null(table["suppressed"], False)


def _per_cell(values: pa.Array, where: pa.Array, fn) -> pa.Array:
    """`values` with fn(value) put in the rows `where` is true (a few rows, in Python)."""
    if not pc.any(where).as_py():
        return values
    texts = values.to_pylist()
    for row in pc.indices_nonzero(where).to_pylist():
        texts[row] = fn(texts[row])
    return pa.array(texts, pa.string())


def _number_text(column: pa.Array) -> pa.Array:
    """Shortest round-trip digits with a decimal point (Arrow's formatting); where Arrow
    writes an exponent, the digits in full."""
    text = pc.cast(pc.cast(column, pa.float64()), pa.string())
    return _per_cell(text, pc.fill_null(pc.match_substring(text, "e"), False),
                     lambda t: format(Decimal(t), "f"))


def _csv_column(column: pa.Array) -> pa.Array:
    """A column's CSV fields (before quoting): empty for missing."""
    kind = column.type
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_date(kind) \
            or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.cast(column, pa.string())
    elif pa.types.is_floating(kind):
        text = pc.replace_substring(_number_text(column), ".", ",")
        text = pc.if_else(pc.fill_null(pc.is_nan(pc.cast(column, pa.float64())), False),
                          pa.scalar(None, pa.string()), text)
    else:  # times, decimals, anything else: one value at a time
        text = pa.array([cell_text(v) for v in column.to_pylist()], pa.string())
    return pc.fill_null(text, "")


def _csv_fields(name: str, table: pa.Table) -> list[pa.Array]:
    """Every column's CSV fields, quoted where the csv module would quote them, with `..`
    where a suppression hid a measure."""
    measures, hidden = _hidden(name, table)
    fields = []
    for field_name, column in zip(table.column_names, table.columns, strict=True):
        text = _csv_column(column)
        if hidden is not None and field_name in measures:
            text = pc.if_else(hidden, SUPPRESSED, text)
        fields.append(_csv_quoted(text))
    return fields


def _csv_quoted(text: pa.Array) -> pa.Array:
    """Fields as the csv module writes them (QUOTE_MINIMAL): in quotes, quotes doubled,
    where a field holds `;`, a quote or a line break."""
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(pc.match_substring_regex(text, CSV_QUOTED), quoted, text)


def write_csv(path: Path, name: str, table: pa.Table) -> None:
    table = table.combine_chunks()
    lines = [";".join(_csv_quoted(pa.array(table.column_names, pa.string())).to_pylist())]
    if table.num_rows and table.num_columns:
        lines += pc.binary_join_element_wise(*_csv_fields(name, table), ";").to_pylist()
    _replace(path, ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))


def write_workbook(path: Path, tables: Mapping[str, pa.Table], docs: Mapping[str, TableDoc],
                   legend: list[tuple[str, str]]) -> None:
    """One sheet per table, then `Selite`: each column's definition and the notes in
    `legend` (the suppression rule, how far the data go).

    XlsxWriter writes the workbook with each table's header row (a date or time column gets
    its number format as the column's style); each table's rows are then put into its sheet
    (`_sheet_rows`, `_splice`).
    """
    import io

    import xlsxwriter

    staged = io.BytesIO()
    book = xlsxwriter.Workbook(staged, {
        "constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
        "strings_to_urls": False})
    formats = {"date": book.add_format({"num_format": "yyyy-mm-dd"}),
               "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})}
    sheets = {}
    for number, (name, table) in enumerate(tables.items(), start=1):
        sheet = book.add_worksheet(name[:31])
        for column, field in enumerate(table.schema):
            sheet.write_string(0, column, field.name)
            kind = "date" if pa.types.is_date(field.type) else \
                "datetime" if pa.types.is_timestamp(field.type) else None
            if kind:
                sheet.set_column(column, column, None, formats[kind])
        sheets[f"xl/worksheets/sheet{number}.xml"] = (name, table.combine_chunks())
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
    styles = {kind: f.xf_index for kind, f in formats.items()}

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    published_folder(path.parent)
    _splice(staged, tmp, {member: (table, _sheet_rows(name, table, styles))
                          for member, (name, table) in sheets.items()})
    os.chmod(tmp, PUBLISHED_FILE)
    os.replace(tmp, path)


def _splice(staged, target: Path, rows: Mapping[str, tuple[pa.Table, pa.Array]]) -> None:
    """XlsxWriter's package copied to `target`, each table sheet's rows after its header
    row, and its `<dimension>` (the used range) widened to them."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    with zipfile.ZipFile(staged) as source, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename not in rows or not len(rows[info.filename][1]):
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
                continue
            table, body = rows[info.filename]
            head, tail = data.decode("utf-8").split("</sheetData>")
            used = f"A1:{xl_rowcol_to_cell(table.num_rows, table.num_columns - 1)}"
            head = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{used}"/>', head,
                          count=1)
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with out.open(entry, "w") as handle:
                handle.write(head.encode("utf-8"))
                for start in range(0, len(body), 20_000):
                    handle.write("".join(body.slice(start, 20_000).to_pylist()).encode("utf-8"))
                handle.write(("</sheetData>" + tail).encode("utf-8"))


def _sheet_rows(name: str, table: pa.Table, styles: Mapping[str, int | None]) -> pa.Array:
    """The `<row>` element of each of the table's rows (rows 2…n+1 of its sheet): cells as
    XlsxWriter writes them in constant-memory mode; a missing value (or NaN, infinity) has no
    cell; `..` where a suppression hid a measure."""
    from xlsxwriter.utility import xl_col_to_name

    if not table.num_rows or not table.num_columns:
        return pa.array([], pa.string())
    numbers = pc.cast(pa.array(range(2, table.num_rows + 2), pa.int64()), pa.string())
    measures, hidden = _hidden(name, table)
    cells = []
    for index, (field, column) in enumerate(zip(table.schema, table.columns, strict=True)):
        ref = pc.binary_join_element_wise(f'<c r="{xl_col_to_name(index)}', numbers, '"', "")
        cell = _cells(column, ref, styles)
        if hidden is not None and field.name in measures:
            cell = pc.if_else(hidden, pc.binary_join_element_wise(
                ref, f' t="inlineStr"><is><t>{SUPPRESSED}</t></is></c>', ""), cell)
        cells.append(pc.fill_null(cell, ""))
    return pc.binary_join_element_wise('<row r="', numbers, '">', *cells, "</row>", "")


def _cells(column: pa.Array, ref: pa.Array, styles: Mapping[str, int | None]) -> pa.Array:
    """One column's cells (null where the cell stays empty), by its Arrow type."""
    kind = column.type

    def cell(attributes: str, value: pa.Array) -> pa.Array:
        return pc.binary_join_element_wise(ref, attributes, value, "</v></c>", "")

    if pa.types.is_boolean(kind):
        return cell(' t="b"><v>', pc.if_else(column, "1", "0"))
    if pa.types.is_integer(kind):
        return cell("><v>", pc.cast(column, pa.string()))
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        number = pc.cast(column, pa.float64())
        # Arrow's shortest digits (an exponent is fine here); a whole number of more than
        # 15 digits gets its exponent, or a reader would take its digits for an integer.
        text = pc.cast(number, pa.string())
        long_whole = pc.match_substring_regex(text, "^-?[0-9]{16,}$")
        text = _per_cell(text, pc.fill_null(long_whole, False), lambda t: repr(float(t)))
        return cell("><v>", pc.if_else(pc.fill_null(pc.is_finite(number), False), text,
                                       pa.scalar(None, pa.string())))
    if pa.types.is_date(kind):
        serial = pc.add(pc.cast(pc.cast(column, pa.date32()), pa.int32()), EXCEL_EPOCH_DAYS)
        return cell(f' s="{styles["date"]}"><v>', pc.cast(serial, pa.string()))
    if pa.types.is_timestamp(kind):
        # Excel has no time zones: an instant is written as its UTC wall-clock time.
        serials = [None if v is None else repr(_excel_serial(v)) for v in column.to_pylist()]
        return cell(f' s="{styles["datetime"]}"><v>', pa.array(serials, pa.string()))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.cast(column, pa.string())
    else:
        text = pa.array([None if v is None else cell_text(v) for v in column.to_pylist()],
                        pa.string())
    preserve = pc.fill_null(pc.match_substring_regex(text, r"^\s|\s$"), False)
    return pc.binary_join_element_wise(
        ref, ' t="inlineStr"><is>',
        pc.if_else(preserve, '<t xml:space="preserve">', "<t>"), _xml_text(text),
        "</t></is></c>", "")


def _xml_text(text: pa.Array) -> pa.Array:
    """Text as XlsxWriter puts it in a cell: cut to Excel's 32,767 UTF-16 units, a literal
    `_xHHHH_` escaped as `_x005F_xHHHH_`, a control character as `_xHHHH_`, then `&<>`."""
    text = _per_cell(text, pc.fill_null(pc.greater(pc.utf8_length(text), EXCEL_MAX_TEXT // 2),
                                        False), _excel_length)
    text = pc.replace_substring_regex(text, "(_x[0-9a-fA-F]{4}_)", "_x005F\\1")
    text = _per_cell(text, pc.fill_null(pc.match_substring_regex(text, CONTROL), False),
                     _escape_control)
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = pc.replace_substring(text, raw, entity)
    return text


def _excel_serial(value: datetime) -> float:
    """Days since Excel's day 0 (1899-12-30), the time as a fraction of a day."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    delta = value - EXCEL_DAY_0
    return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400


def _excel_length(text: str) -> str:
    units = text.encode("utf-16-le")
    if len(units) <= 2 * EXCEL_MAX_TEXT:
        return text
    return units[:2 * EXCEL_MAX_TEXT].decode("utf-16-le", errors="ignore")


def _escape_control(text: str) -> str:
    return CONTROL_PYTHON.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


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
    written = map_forked(write_scope, jobs, weights, workers, parallel_from_rows)
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
