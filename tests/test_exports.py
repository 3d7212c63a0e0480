"""The officials' CSV and workbook files (pipelines/publish/exports.py), cell by cell.

Cells are formatted a column at a time with Arrow and put into XlsxWriter's workbook as
SpreadsheetML; what a reader gets back (openpyxl, as Excel users' tools do, and calamine) must
be the table's values: text stays text whatever it holds, numbers read back as the same number,
dates as dates, a missing value as an empty cell, `..` where a suppression hid a measure.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipelines.publish.exports import write_csv, write_workbook

HOSTILE_TEXT = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "@SUM(A1)", "-2", " leading",
                "trailing ", "a;b", 'say "hi"', "two\nlines", "cr\rlf", "<b>&amp;</b>",
                "_x0041_", "bell\x07", "tab\tin", "nul\x00", "\ufffe", "ä ö å €", "",
                "x" * 40_000, None]


def _csv(path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\r\n")
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def _calamine(path, name: str) -> list[list]:
    from python_calamine import CalamineWorkbook

    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def _sheet(path, name: str, **shape) -> list[list]:
    book = load_workbook(path)  # not read-only: cell types are kept there
    rows = [[(cell.value, cell.data_type) for cell in row]
            for row in book[name].iter_rows(**shape)]
    book.close()
    return rows


def test_hostile_text_stays_text_in_both_files(tmp_path):
    """Formulas, separators, quotes, line breaks, markup, Excel's own `_xHHHH_` escape,
    control characters and an over-long string: the CSV field is the text, the workbook cell
    is text with the text (a control character as Excel escapes it, a string cut at Excel's
    32,767 characters)."""
    table = pa.table({"municipality_name": HOSTILE_TEXT,
                      "rejected_rows": pa.array(range(len(HOSTILE_TEXT)), pa.int64())})
    write_csv(tmp_path / "t.csv", "data_freshness", table)
    header, *rows = _csv(tmp_path / "t.csv")
    assert header == ["municipality_name", "rejected_rows"]
    assert [r[0] for r in rows] == ["" if t is None else t for t in HOSTILE_TEXT]
    assert [r[1] for r in rows] == [str(n) for n in range(len(HOSTILE_TEXT))]

    write_workbook(tmp_path / "t.xlsx", {"data_freshness": table}, {}, [])
    header, *cells = _sheet(tmp_path / "t.xlsx", "data_freshness")
    assert [value for value, _ in header] == table.column_names
    assert [row[0][1] for row in cells if row[0][0] is not None] == \
        ["s"] * (len(HOSTILE_TEXT) - 1)  # text, never a formula
    # calamine reads a cell as Excel shows it (Excel's _xHHHH_ escapes undone)
    _, *values = _calamine(tmp_path / "t.xlsx", "data_freshness")
    for value, text in zip((row[0] for row in values), HOSTILE_TEXT, strict=True):
        expected = "" if text is None else text[:32767]
        assert value == expected.replace("\ufffe", "_xFFFE_"), text[:20]
    assert [row[1] for row in cells] == [(n, "n") for n in range(len(HOSTILE_TEXT))]


def test_types_missing_values_and_suppression(tmp_path):
    """Counts and rates as numbers, flags as booleans, dates as dates, instants as their UTC
    time; NaN, infinity and null as empty cells (empty CSV fields); a suppressed row's
    measures `..` and its other columns as they are."""
    helsinki = timezone(timedelta(hours=2))
    table = pa.table({
        "level": ["national", "region", "school", "school"],
        "interventions": pa.array([12, 3, None, 7], pa.int64()),
        "students": pa.array([10, 2, 1, 5], pa.int64()),
        "share": pa.array([0.1, 1 / 3, float("nan"), float("inf")], pa.float64()),
        "tiny": pa.array([1e-7, 2.5e20, None, -0.0], pa.float64()),
        "as_of_date": pa.array([date(2026, 11, 27), None, date(1999, 1, 1), date(2026, 1, 1)],
                               pa.date32()),
        "loaded_at": pa.array([datetime(2026, 11, 27, 23, 40, 5, tzinfo=helsinki), None,
                               None, None], pa.timestamp("us", tz="UTC")),
        "provisional": pa.array([True, False, None, True]),
        "suppressed": pa.array([False, False, True, True]),
    })
    write_csv(tmp_path / "t.csv", "interventions_by_type", table)
    header, *rows = _csv(tmp_path / "t.csv")
    assert header == table.column_names
    by_column = dict(zip(header, zip(*rows, strict=True), strict=True))
    assert by_column["level"] == ("national", "region", "school", "school")
    assert by_column["interventions"] == ("12", "3", "..", "..")
    assert by_column["students"] == ("10", "2", "..", "..")
    assert [float(v.replace(",", ".")) for v in by_column["share"][:2]] == [0.1, 1 / 3]
    assert by_column["share"][2] == ""
    assert by_column["tiny"][:3] == ("0,0000001", "250000000000000000000", "")
    assert by_column["as_of_date"] == ("2026-11-27", "", "1999-01-01", "2026-01-01")
    assert by_column["loaded_at"] == ("2026-11-27 21:40:05+00:00", "", "", "")
    assert by_column["provisional"] == ("true", "false", "", "true")
    assert by_column["suppressed"] == ("false", "false", "true", "true")

    write_workbook(tmp_path / "t.xlsx", {"interventions_by_type": table}, {}, [])
    header, *cells = _sheet(tmp_path / "t.xlsx", "interventions_by_type")
    column = {name: [row[i] if i < len(row) else (None, "n") for row in cells]
              for i, (name, _) in enumerate(header)}
    assert column["interventions"] == [(12, "n"), (3, "n"), ("..", "s"), ("..", "s")]
    assert column["students"] == [(10, "n"), (2, "n"), ("..", "s"), ("..", "s")]
    assert [v for v, _ in column["share"]] == [0.1, 1 / 3, None, None]
    assert [v for v, _ in column["tiny"]] == [1e-7, 2.5e20, None, 0]
    assert [v for v, _ in column["as_of_date"]] == [
        datetime(2026, 11, 27), None, datetime(1999, 1, 1), datetime(2026, 1, 1)]
    assert column["loaded_at"][0][0] == datetime(2026, 11, 27, 21, 40, 5)
    assert [v for v, _ in column["provisional"]] == [True, False, None, True]
    assert [v for v, _ in column["suppressed"]] == [False, False, True, True]


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.one_of(st.none(), st.text(max_size=12)),
                               st.one_of(st.none(), finite),
                               st.one_of(st.none(), st.integers(-2**62, 2**62))),
                     min_size=1, max_size=30))
def test_any_values_read_back_as_written(tmp_path_factory, rows):
    """Whatever text and numbers a table holds, the CSV and the workbook give them back: a
    number as the same float (decimal comma in the CSV), text as text."""
    folder = tmp_path_factory.mktemp("cells")
    texts, numbers, counts = (list(column) for column in zip(*rows, strict=True))
    table = pa.table({"name": pa.array(texts, pa.string()),
                      "rate": pa.array(numbers, pa.float64()),
                      "count": pa.array(counts, pa.int64())})
    write_csv(folder / "t.csv", "anything", table)
    _, *lines = _csv(folder / "t.csv")
    assert [line[0] for line in lines] == ["" if t is None else t for t in texts]
    assert [float(line[1].replace(",", ".")) if line[1] else None for line in lines] == numbers
    assert all("e" not in line[1].lower() for line in lines)
    assert [int(line[2]) if line[2] else None for line in lines] == counts

    write_workbook(folder / "t.xlsx", {"anything": table}, {}, [])
    cells = _sheet(folder / "t.xlsx", "anything", min_row=2, max_row=len(rows) + 1, max_col=3)
    for (_, rate, count), row in zip(rows, cells, strict=True):
        assert row[1][0] == rate
        assert row[2][0] == count
        assert row[0][1] == "s" or row[0][0] is None
    _, *values = _calamine(folder / "t.xlsx", "anything")
    values += [[""]] * (len(rows) - len(values))  # empty last rows are not read
    assert [row[0] for row in values] == [
        "" if t is None else t.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")
        for t in texts]
