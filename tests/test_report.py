"""The officials' offline report (DESIGN §8.1), written from published files built by
`tests/report_data.py`: every number shown is the published value, suppressed cells show `..`
with the rule explained, provisional periods are marked, problem municipalities are listed with
their reasons, damaged or empty files still give a page, and headless Chromium draws every chart
with the network cut off.

Screenshots go to the browser test's tmp_path. The browser test needs Debian's `chromium`
(`make test` installs it when run as root) and is skipped with a message where it is missing.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import stat
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipelines.permissions import PUBLISHED_FILE, PUBLISHED_FOLDER
from pipelines.publish.labels import LABELS_CSV, load_labels
from pipelines.publish.report import read_published, render, write_reports
from pipelines.publish.report_content import build_page
from pipelines.publish.report_model import Scope
from tests import report_data

THRESHOLD = report_data.THRESHOLD
SCOPES = ("national", "01", "02")
CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--disable-extensions"]
NUMERIC_KINDS = {"pct", "points", "count", "lessons", "days"}


# -- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("published")
    report_data.write_published(folder)
    return folder


@pytest.fixture(scope="module")
def pages(published) -> dict[str, Path]:
    written = write_reports(published, THRESHOLD)
    expected = {"national": published / "reports" / "national.html",
                "01": published / "reports" / "regions" / "01.html",
                "02": published / "reports" / "regions" / "02.html"}
    assert written == list(expected.values())
    return expected


def source_file(published: Path, scope: str) -> Path:
    return (published / "national.duckdb" if scope == "national"
            else published / "regions" / f"{scope}.duckdb")


# -- reading a page back --------------------------------------------------------------------

class PageReader(HTMLParser):
    """What a page shows: every element that carries a published value (table cells, headline
    figures) with its text, the data tables' rows (row header, provisional badge, cells), and
    any table cell that does not say where its value came from."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[dict] = []
        self.rows: list[dict] = []
        self.untied_cells: list[str] = []
        self.notes: list[str] = []
        self._figure: tuple[str, dict] | None = None
        self._row: dict | None = None
        self._header = False
        self._td: list[str] | None = None
        self._note: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "tr":
            self._row = {"header": "", "badge": False, "figures": []}
        elif tag == "th" and attrs.get("scope") == "row":
            self._header = True
        elif tag == "span" and "badge" in classes and self._header and self._row is not None:
            self._row["badge"] = True
        elif tag == "p" and "note" in classes:
            self._note = []
        if "data-table" in attrs:
            figure = {**attrs, "tag": tag, "text": ""}
            self._figure = (tag, figure)
            self.figures.append(figure)
            if self._row is not None:
                self._row["figures"].append(figure)
        elif tag == "td":
            self._td = []

    def handle_endtag(self, tag):
        if self._figure and tag == self._figure[0]:
            self._figure = None
        if tag == "td" and self._td is not None:
            self.untied_cells.append("".join(self._td))
            self._td = None
        if tag == "th":
            self._header = False
        if tag == "p" and self._note is not None:
            self.notes.append("".join(self._note).strip())
            self._note = None
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._figure:
            self._figure[1]["text"] += data
        if self._td is not None:
            self._td.append(data)
        if self._note is not None:
            self._note.append(data)
        if self._header and self._row is not None:
            self._row["header"] += data


def read_page(path: Path) -> PageReader:
    reader = PageReader()
    reader.feed(path.read_text("utf-8"))
    reader.close()
    return reader


def published_rows(con, table: str, key: dict) -> list[dict]:
    clauses = [f'"{k}" is null' if v is None else f'cast("{k}" as varchar) = ?'
               for k, v in key.items()]
    cursor = con.execute(f'select * from "{table}" where {" and ".join(clauses) or "true"}',
                         [v for v in key.values() if v is not None])
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def exact(value) -> str:
    """A published value written out exactly (what data-value must hold)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def shown_number(text: str) -> float:
    """The number in a cell's text, whatever the unit: "−3,0 %-yks." -> -3.0."""
    plain = (text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
             .replace("\u2212", "-").replace(",", "."))
    match = re.match(r"[+-]?\d+(\.\d+)?", plain)
    assert match, f"no number in {text!r}"
    return float(match.group(0))


def assert_shown(figure: dict, row: dict, value, labels) -> None:
    text, kind = figure["text"], figure["data-kind"]
    where = f"{figure['data-table']}.{figure['data-column']} {figure['data-key']}: {text!r}"
    if row.get("suppressed") and kind in NUMERIC_KINDS:  # labels (a type's tier) stay
        assert text == "..", where
        return
    if value is None:
        assert text in ("..", ".", ""), where
        return
    if kind in ("pct", "points"):
        assert abs(shown_number(text) / 100 - value) <= 0.0005 + 1e-12, where
        if kind == "points" and value < 0:
            assert text.startswith("\u2212"), where
    elif kind == "count":
        assert shown_number(text) == value, where
    elif kind in ("lessons", "days"):
        decimals = len(re.sub(r"\D", "", text.split(",")[1])) if "," in text else 0
        assert abs(shown_number(text) - value) <= 0.5 * 10 ** -decimals + 1e-9, where
    elif kind in ("status", "tier", "dimension"):
        assert text == labels[f"{kind}.{value}"], where
    elif kind == "date":
        assert text == labels.date(value), where
    elif kind == "datetime":
        assert text == labels.datetime(value), where
    else:
        assert text == str(value), where


# -- every number is the published one ------------------------------------------------------

@pytest.mark.parametrize("scope", SCOPES)
def test_every_number_shown_is_the_published_value(pages, published, scope):
    page = read_page(pages[scope])
    labels = load_labels()
    assert page.untied_cells == [], "table cells that do not say where they come from"
    assert len(page.figures) > 80
    compared = 0
    with duckdb.connect(str(source_file(published, scope)), read_only=True) as con:
        for figure in page.figures:
            if figure.get("data-missing"):
                assert figure["text"] == ".", figure
                continue
            table, column = figure["data-table"], figure["data-column"]
            key = json.loads(figure["data-key"])
            if column == "count(*)":  # municipalities by data status
                count = len(published_rows(con, table, key))
                assert figure["data-value"] == str(count)
                assert shown_number(figure["text"]) == count
                continue
            rows = published_rows(con, table, key)
            assert len(rows) == 1, (table, key, len(rows))
            value = rows[0][column]
            assert figure["data-value"] == exact(value), (table, column, key)
            assert_shown(figure, rows[0], value, labels)
            compared += figure["data-kind"] in NUMERIC_KINDS
    assert compared > 60


def test_the_headline_compares_the_region_with_the_country(pages, published):
    page = read_page(pages["01"])
    cards = [f for f in page.figures if "card-value" in f["class"]]
    compare = [f for f in page.figures if f["tag"] == "span"]  # "Koko maa 5,8 %" below
    assert [f["data-column"] for f in cards] == ["absence_rate", "illness_rate",
                                                 "authorised_rate", "unauthorised_rate",
                                                 "unexplained_rate"]
    assert {json.loads(f["data-key"])["level"] for f in cards} == {"region"}
    assert {json.loads(f["data-key"])["level"] for f in compare} == {"national"}
    assert {json.loads(f["data-key"])["period_type"] for f in cards + compare} == {"school_year"}


def test_suppressed_rows_show_two_dots_and_the_rule_is_explained(pages):
    page = read_page(pages["01"])
    small = [row for row in page.rows if any(
        json.loads(f.get("data-key") or "{}").get("school_code") in ("00102", "00103")
        for f in row["figures"])]
    side_by_side = [row for row in small if row["figures"][0]["data-table"] == "absence_rates"]
    assert len(side_by_side) == 2
    assert {f["text"] for row in side_by_side for f in row["figures"]} == {".."}
    # Every other row of those schools (their ladder rows) hides its numbers too; the
    # ladder's own label (configuration, not data) stays.
    assert len(small) > 2
    assert {f["text"] for row in small for f in row["figures"]
            if f["data-kind"] in NUMERIC_KINDS} == {".."}
    rule = load_labels().fill("symbols.suppressed", threshold=THRESHOLD)
    assert rule in html.unescape(pages["01"].read_text("utf-8"))


def test_the_rule_states_the_threshold_from_settings(published, tmp_path):
    shutil.copyfile(published / "national.duckdb", tmp_path / "national.duckdb")
    [page] = write_reports(tmp_path, 7)
    text = html.unescape(page.read_text("utf-8"))
    labels = load_labels()
    assert labels.fill("symbols.suppressed", threshold=7) in text
    assert labels.fill("symbols.suppressed", threshold=THRESHOLD) not in text


def test_the_partial_rule_hides_intensive_columns_but_not_the_row(pages):
    """Varsinais-Suomi (Turku alone) has too few 20 % crossings: its intensive columns show
    `..`, the rest of the row is shown."""
    page = read_page(pages["02"])
    turku = [f for f in page.figures if f["data-table"] == "intervention_metrics"
             and json.loads(f["data-key"])["level"] == "region"
             and json.loads(f["data-key"])["term"] == "all"]
    by_column = {f["data-column"]: f["text"] for f in turku}
    assert by_column["crossed_intensive"] == ".."
    assert by_column["intensive_response_rate"] == ".."
    assert by_column["timely_response_rate"] not in ("..", ".")


def test_the_comparison_group_is_hidden_alone_when_it_is_too_small(pages):
    """Region 02's comparison group has 3 pupils: its columns of intervention_effect show
    `..` while the treated pupils' columns of the same rows are shown."""
    page = read_page(pages["02"])
    own = [f for f in page.figures if f["data-table"] == "intervention_effect"
           and json.loads(f["data-key"])["level"] == "region"
           and json.loads(f["data-key"])["intervention_type"] == "all"]
    by_column = {f["data-column"]: f["text"] for f in own}
    assert by_column["comparison_students"] == by_column["difference"] == ".."
    assert by_column["mean_change"] not in ("..", ".")
    assert by_column["students_in_change"] not in ("..", ".")


def test_local_ladders_appear_only_where_a_municipality_declared_one(pages):
    """Helsinki (region 01) declared 30/60/80/120 lessons; Turku (region 02) none."""
    helsinki = read_page(pages["01"])
    ladder = [f for f in helsinki.figures if f["data-table"] == "local_threshold_crossings"
              and f["data-column"] == "crossed"]
    keys = {(json.loads(f["data-key"])["level"], json.loads(f["data-key"])["threshold_lessons"])
            for f in ladder}
    assert {t for level, t in keys if level == "municipality"} == {"30.0", "60.0", "80.0",
                                                                    "120.0"}
    assert {level for level, _ in keys} == {"municipality", "school"}
    national = read_page(pages["national"])
    assert {json.loads(f["data-key"])["level"] for f in national.figures
            if f["data-table"] == "local_threshold_crossings"} == {"municipality"}
    turku = html.unescape(pages["02"].read_text("utf-8"))
    assert load_labels()["ladders.none"] in turku
    assert not [f for f in read_page(pages["02"]).figures
                if f["data-table"] == "local_threshold_crossings"]


@pytest.mark.parametrize("scope", SCOPES)
def test_provisional_periods_carry_a_mark(pages, published, scope):
    page = read_page(pages[scope])
    seen = set()
    with duckdb.connect(str(source_file(published, scope)), read_only=True) as con:
        for row in page.rows:
            # Rows of one period: a month, a week, a Sunday (not the side-by-side rows, whose
            # columns come from several tables and periods).
            timed = [f for f in row["figures"] if not f.get("data-missing")]
            if not timed or {f["data-table"] for f in timed} - {"absence_rates",
                                                                "attendance_tiers"}:
                continue
            if len({f["data-table"] for f in timed}) > 1 or json.loads(
                    timed[0]["data-key"]).get("period_type") == "school_year":
                continue
            [source] = published_rows(con, timed[0]["data-table"],
                                      json.loads(timed[0]["data-key"]))
            assert row["badge"] == bool(source["provisional"]), row["header"]
            seen.add(row["badge"])
    assert seen == {True, False}


def test_late_missing_quarantined_and_not_onboarded_municipalities_are_listed_with_reasons(
        pages, published):
    page = read_page(pages["national"])
    shown_errors = {f["text"] for f in page.figures if f["data-column"] == "last_error"}
    shown_statuses = {f["data-value"] for f in page.figures if f["data-column"] == "status"}
    with duckdb.connect(str(published / "national.duckdb"), read_only=True) as con:
        problems = con.execute("select status, last_error from data_freshness "
                               "where status <> 'ok'").fetchall()
    assert {status for status, _ in problems} == {"late", "missing", "quarantined",
                                                  "not_onboarded"}
    assert {status for status, _ in problems} <= shown_statuses
    assert {error for _, error in problems} <= shown_errors


def test_a_region_page_lists_only_its_own_municipalities(pages):
    page = read_page(pages["01"])
    shown = {json.loads(f["data-key"])["municipality_code"] for f in page.figures
             if f["data-table"] == "data_freshness" and f["data-column"] != "count(*)"}
    assert shown == {"049", "091", "092"}


def test_a_region_of_one_municipality_still_compares_it(pages):
    page = read_page(pages["02"])
    municipalities = {json.loads(f["data-key"])["municipality_code"] for f in page.figures
                      if f["data-table"] == "absence_rates"
                      and json.loads(f["data-key"])["level"] == "municipality"}
    assert municipalities == {"853"}


def test_pages_are_renamed_into_place_readable_by_the_group(pages, published):
    before = pages["national"].stat().st_ino
    write_reports(published, THRESHOLD)
    assert pages["national"].stat().st_ino != before  # a new file renamed over the old one
    for path in pages.values():
        assert stat.S_IMODE(path.stat().st_mode) == PUBLISHED_FILE
    for folder in (published / "reports", published / "reports" / "regions"):
        assert stat.S_IMODE(folder.stat().st_mode) == PUBLISHED_FOLDER
        assert not [p for p in folder.iterdir() if ".tmp-" in p.name]


def test_a_page_needs_nothing_from_outside(pages):
    text = pages["01"].read_text("utf-8")
    assert "default-src 'none'" in text  # the page itself forbids loading anything
    markup = re.sub(r"(?s)<script\b[^>]*>.*?</script>", "<script></script>", text)
    assert markup.count("<script></script>") == text.count("<script")  # all inline
    assert not re.search(r"<(link|img|iframe|object|embed)\b|\bsrc\s*=|url\(", markup)
    assert "window.vegaEmbed=" in text


# -- robustness -----------------------------------------------------------------------------

MEASURES_NULL = {table: ", ".join(f'"{c}" = null' for c in columns)
                 for table, columns in report_data.MEASURES.items()}
DAMAGE = {
    "empty tables": [f'delete from "{t}"' for t in report_data.TABLES],
    "every row suppressed": [f'update "{t}" set {MEASURES_NULL[t]}, suppressed = true'
                             for t in report_data.MEASURES],
    "optional tables missing": [f'drop table "{t}"' for t in (
        "attendance_tiers", "intervention_metrics", "interventions_by_type",
        "interventions_by_dimension")],
    "no tables at all": [f'drop table "{t}"' for t in report_data.TABLES],
    "columns missing": ['alter table absence_rates drop column provisional',
                        'alter table absence_rates drop column data_through',
                        'alter table attendance_tiers drop column share_10pct_or_more'],
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_or_empty_files_still_give_a_page(published, tmp_path, damage):
    copy = tmp_path / "published"
    for scope in ("national", "02"):
        target = copy / source_file(published, scope).relative_to(published)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_file(published, scope), target)
        with duckdb.connect(str(target)) as con:
            for statement in DAMAGE[damage]:
                con.execute(statement)
    written = write_reports(copy, THRESHOLD)
    assert [p.name for p in written] == ["national.html", "02.html"]
    labels = load_labels()
    for path in written:
        page = read_page(path)
        if damage not in ("columns missing", "every row suppressed"):
            assert {labels["note.no_data"], labels["note.not_published"]} & set(page.notes)
        if damage == "every row suppressed":
            numbers = [f for f in page.figures if f["data-kind"] in NUMERIC_KINDS
                       and f["data-table"] != "data_freshness"]
            assert numbers and {f["text"] for f in numbers} == {".."}


def test_pages_built_by_workers_equal_those_built_in_one_process(published, tmp_path):
    """A large publication's pages are built by forked workers (pipelines/publish/
    workers.py); forced here on the small one, they are the same pages, byte for byte."""
    made = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    pages = {}
    for name, workers in (("one", 1), ("workers", 2)):
        copy = tmp_path / name
        shutil.copytree(published, copy, ignore=shutil.ignore_patterns("reports"))
        written = write_reports(copy, THRESHOLD, workers=workers, parallel_from_rows=0,
                                generated=made)
        pages[name] = {p.relative_to(copy): p.read_bytes() for p in written}
    assert list(pages["one"]) == list(pages["workers"]) and len(pages["one"]) == 3
    assert pages["one"] == pages["workers"]


def test_a_published_folder_without_files_gives_no_pages(tmp_path):
    assert write_reports(tmp_path, THRESHOLD) == []


# -- words ----------------------------------------------------------------------------------

def test_every_word_comes_from_the_labels_table():
    """No Finnish in the code or the page template: a language is a column of labels.csv."""
    folder = LABELS_CSV.parent
    for path in [folder / "report.py", folder / "report_content.py",
                 folder / "report_charts.py", folder / "labels.py",
                 *(folder / "report_page").iterdir()]:
        assert not re.search("[äöåÄÖÅ]", path.read_text("utf-8")), path.name
    with LABELS_CSV.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        keys = [row["key"] for row in reader]
        assert reader.fieldnames == ["key", "fi"]
    assert len(keys) == len(set(keys))


def test_another_language_is_a_column_of_the_labels(published, tmp_path):
    with LABELS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    swedish = {"headline.title": "Nyckeltal", "series.country": "Hela landet",
               "meta.lang": "sv", "format.locale": "sv-SE"}
    path = tmp_path / "labels.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["key", "fi", "sv"])
        writer.writeheader()
        writer.writerows({**row, "sv": swedish.get(row["key"], "")} for row in rows)
    labels = load_labels("sv", path)
    assert labels["headline.title"] == "Nyckeltal"
    assert labels["trend.title"] == load_labels()["trend.title"]  # untranslated: Finnish
    page = build_page(read_published(published / "national.duckdb"), Scope(), labels,
                      THRESHOLD, "national.duckdb", datetime(2026, 11, 28, 6, 0))
    text = render(page, labels)
    assert '<html lang="sv">' in text and "Nyckeltal" in text and "Hela landet" in text


# -- in a browser, offline ------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (as root: apt-get install chromium; "
                    "`make test` does this when it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize("scope", SCOPES)
def test_the_page_draws_every_chart_offline(browser, pages, scope, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  offline=True, java_script_enabled=True)
    try:
        page = context.new_page()
        blocked, errors = [], []

        def only_files(route):
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        page.route("**/*", only_files)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(pages[scope].as_uri())
        page.wait_for_function(
            "[...document.querySelectorAll('figure[data-chart]')]"
            ".every(f => f.hasAttribute('data-rendered'))", timeout=30_000)
        drawn = page.evaluate(
            "[...document.querySelectorAll('figure[data-chart]')].map(f => ["
            " f.getAttribute('data-rendered'),"
            " f.querySelectorAll('svg g.role-mark > path, svg g.role-mark > line').length])")
        page.screenshot(path=str(tmp_path / f"report_{scope}.png"), full_page=True)
    finally:
        context.close()
    assert blocked == [] and errors == []
    assert len(drawn) >= 9
    assert all(state == "true" and marks > 0 for state, marks in drawn), drawn
    assert (tmp_path / f"report_{scope}.png").stat().st_size > 50_000
    assert os.access(tmp_path / f"report_{scope}.png", os.R_OK)
