"""The officials' offline report (DESIGN §8.1): `published/reports/national.html` and
`published/reports/regions/<rr>.html`, one self-contained page each.

The pages are written from the published DuckDB files (opened read-only), not from the marts,
so a page can only ever show what was published: suppressed cells stay `..`. Each page carries
its stylesheet, its chart specifications (Vega-Lite, built with Altair) and Vega's JavaScript
(vl-convert's bundle) inline, and a Content-Security-Policy that forbids loading anything, so
it opens from a file share or an e-mail attachment without a network. Words come from
`labels.csv` (one column per language); the page's structure from `report_page/page.html.j2`;
what it says from `report_content.py`. Like every published file, a page is written to a
temporary name in its folder and renamed into place (mode 0640).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import duckdb

from pipelines.permissions import PUBLISHED_FILE, published_folder
from pipelines.publish.labels import DEFAULT_LANGUAGE, Labels, load_labels
from pipelines.publish.report_content import build_page
from pipelines.publish.report_model import REPORT_TABLES, Page, Scope
from pipelines.publish.workers import PARALLEL_FROM_ROWS, map_forked

PAGE_ASSETS = Path(__file__).with_name("report_page")
REGION_FILE = re.compile(r"[0-9]{2}\.duckdb")


def write_reports(published: Path, suppression_threshold: int, workers: int | None = None,
                  parallel_from_rows: int = PARALLEL_FROM_ROWS,
                  generated: datetime | None = None) -> list[Path]:
    """Write the national page and one page per region file found under `published`; return
    the pages written (national first). A large publication's pages are built by forked
    workers (pipelines/publish/workers.py), each reading its own file. `generated` is the
    time the pages say they were made (default: now)."""
    labels = load_labels(DEFAULT_LANGUAGE)
    generated = generated or datetime.now(UTC)
    reports = published / "reports"
    sources = []
    if (published / "national.duckdb").is_file():
        sources.append((published / "national.duckdb", Scope(), reports / "national.html"))
    regions = published / "regions"
    if regions.is_dir():
        sources += [(path, Scope(path.name[:2]), reports / "regions" / f"{path.name[:2]}.html")
                    for path in sorted(regions.iterdir())
                    if REGION_FILE.fullmatch(path.name) and path.is_file()]
    jobs = [(source, scope, target, labels, suppression_threshold,
             source.relative_to(published).as_posix(), generated)
            for source, scope, target in sources]
    weights = [_rows_in(source) for source, _, _ in sources]
    _template(), _vega_bundle()  # once, here: forked workers inherit them
    return map_forked(_write_report, jobs, weights, workers, parallel_from_rows)


def _write_report(source: Path, scope: Scope, target: Path, labels: Labels, threshold: int,
                  name: str, generated: datetime) -> Path:
    page = build_page(read_published(source), scope, labels, threshold, name, generated)
    write_page(target, render(page, labels))
    return target


def _rows_in(path: Path) -> int:
    """How many rows the report's tables of one published file hold (how much work its page
    is)."""
    with duckdb.connect(str(path), read_only=True) as con:
        present = {name for (name,) in con.execute(
            "select table_name from information_schema.tables").fetchall()}
        return sum(con.execute(f'select count(*) from "{name}"').fetchone()[0]
                   for name in REPORT_TABLES if name in present)


def read_published(path: Path) -> dict[str, list[dict]]:
    """The report's tables of one published file as rows (column -> Python value); a table
    the file does not have is left out (the page then says it was not published)."""
    with duckdb.connect(str(path), read_only=True) as con:
        present = {name for (name,) in con.execute(
            "select table_name from information_schema.tables").fetchall()}
        tables = {}
        for name in REPORT_TABLES:
            if name not in present:
                continue
            cursor = con.execute(f'select * from "{name}"')  # names are our constants
            columns = [d[0] for d in cursor.description]
            tables[name] = [dict(zip(columns, values, strict=True))
                            for values in cursor.fetchall()]
        return tables


def render(page: Page, labels: Labels) -> str:
    """The page as one HTML document with everything it needs inline."""
    config = {"formatLocale": labels.number_locale, "timeFormatLocale": labels.time_locale,
              "chartFailed": labels["chart.failed"]}
    return _template().render(
        page=page, L=labels, css=_asset("style.css"), embed_js=_asset("embed.js"),
        vega_js=_vega_bundle(), config_json=script_json(config),
        specs=[(chart.id, script_json(chart.spec)) for chart in page.charts])


def script_json(value: object) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` that could end it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_page(path: Path, html: str) -> None:
    """Write aside, then rename over the old page: a reader never sees half a page."""
    published_folder(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(html, encoding="utf-8")
    os.chmod(tmp, PUBLISHED_FILE)
    os.replace(tmp, path)


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    environment = Environment(loader=FileSystemLoader(PAGE_ASSETS), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return environment.get_template("page.html.j2")


@lru_cache(maxsize=4)
def _asset(name: str) -> str:
    return (PAGE_ASSETS / name).read_text("utf-8")


@lru_cache(maxsize=1)
def _vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (vl-convert's bundle puts `vegaEmbed` on
    window). A `</script` inside it would end the element early: written as `<\\/script`."""
    import vl_convert

    return re.sub(r"</(script)", r"<\\/\1", vl_convert.javascript_bundle(), flags=re.IGNORECASE)
