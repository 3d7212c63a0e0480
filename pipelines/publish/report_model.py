"""The page's building blocks and the published rows behind them (DESIGN §8.1).

Every number on the page is a value of a published row, never recomputed: each table cell and
headline figure is a `Cell` that carries the table, the row's key columns, the column and the
exact published value beside the text written from it, so a test (or a curious reader) can hold
the page against the file. A suppressed row shows `..`; so does a measure the partial rule hid
(a rate whose pupil count is hidden); a measure that cannot be computed (no pupils) shows `.`.
`Report` holds one file's rows for one scope (the country or a region) and writes cells.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from pipelines.publish.labels import Labels

SUPPRESSED = ".."
NOT_AVAILABLE = "."
_UNIT = ("level", "region_code", "municipality_code", "school_code", "school_year")
# The columns that identify a row of each published table.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "absence_rates": (*_UNIT, "period_type", "period_start", "grade_band"),
    "attendance_tiers": (*_UNIT, "as_of_date", "grade_band"),
    "intervention_metrics": (*_UNIT, "term"),
    "interventions_by_type": (*_UNIT, "term", "intervention_type"),
    "interventions_by_dimension": (*_UNIT, "term", "dimension"),
    "support_caseload": (*_UNIT, "as_of_date", "grade_band"),
    "local_threshold_crossings": (*_UNIT, "term", "threshold_lessons"),
    "absence_by_weekday": (*_UNIT, "term", "weekday"),
    "absence_streaks": (*_UNIT, "term"),
    "intervention_effect": (*_UNIT, "intervention_type"),
    "data_freshness": ("municipality_code",),
}
REPORT_TABLES = tuple(ROW_KEYS)
# The count a measure rests on: when that count is hidden (the partial rule of suppression)
# the measure is hidden too, and shows `..`; when it is not, a missing measure could not be
# computed (nobody responded, so no lag) and shows `.`.
RESTS_ON: dict[str, dict[str, str]] = {
    "intervention_metrics": {
        "timely_response_rate": "crossed_targeted",
        "median_response_lag_days": "responded_targeted",
        "responded_intensive": "crossed_intensive",
        "intensive_response_rate": "crossed_intensive",
        "mean_rate_change_after_intervention": "students_in_change",
    },
    "local_threshold_crossings": {
        "timely_response_rate": "crossed",
        "median_response_lag_days": "responded",
    },
    "intervention_effect": {
        "mean_rate_before": "students_in_change",
        "mean_rate_after": "students_in_change",
        "mean_change": "students_in_change",
        "comparison_mean_change": "comparison_students",
        "difference": "comparison_students",
    },
}


# -- what the template renders ----------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """A value as shown, with where it came from (rendered as data-* attributes)."""

    text: str
    table: str = ""
    key: str = ""  # JSON object: the row's key columns
    column: str = ""
    value: str = ""  # the published value exactly (a float's repr); "" for null
    kind: str = ""  # how `text` was written: pct, points, count, lessons, days, date, ...
    missing: bool = False  # no published row at all

    @property
    def numeric(self) -> bool:
        return self.kind in ("pct", "points", "count", "lessons", "days")


@dataclass(frozen=True)
class Row:
    header: str
    cells: list[Cell]
    badge: str = ""  # e.g. "provisional"


@dataclass(frozen=True)
class Table:
    caption: str
    head: list[str]  # the row header's title, then one per cell
    rows: list[Row]
    kind: str = "table"


@dataclass(frozen=True)
class Card:
    label: str
    cell: Cell
    compare: list[tuple[str, Cell]] = field(default_factory=list)


@dataclass(frozen=True)
class Cards:
    cards: list[Card]
    kind: str = "cards"


@dataclass(frozen=True)
class Chart:
    id: str
    caption: str
    description: str  # what the chart shows, for screen readers
    spec: dict
    kind: str = "chart"


@dataclass(frozen=True)
class Note:
    text: str
    kind: str = "note"


@dataclass(frozen=True)
class Details:
    summary: str
    blocks: list
    kind: str = "details"


@dataclass(frozen=True)
class Definitions:
    items: list[tuple[str, str]]
    kind: str = "definitions"


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    intro: list[str]
    blocks: list


@dataclass(frozen=True)
class Page:
    language: str
    kicker: str
    title: str
    lead: list[str]
    sections: list[Section]
    footer: list[str]

    @property
    def charts(self) -> list[Chart]:
        found = []

        def walk(blocks):
            for block in blocks:
                if isinstance(block, Chart):
                    found.append(block)
                elif isinstance(block, Details):
                    walk(block.blocks)
        for section in self.sections:
            walk(section.blocks)
        return found


# -- the scope and its rows -------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Whom a page is for: the country (region_code None) or one region."""

    region_code: str | None = None

    @property
    def national(self) -> bool:
        return self.region_code is None

    @property
    def level(self) -> str:
        return "national" if self.national else "region"

    @property
    def unit_levels(self) -> tuple[str, str]:
        """The units compared side by side."""
        return ("region", "municipality") if self.national else ("municipality", "school")

    def holds(self, row: dict) -> bool:
        return self.national or row.get("region_code") == self.region_code


class Report:
    """The published rows of one file, read for one scope."""

    def __init__(self, tables: dict[str, list[dict]], scope: Scope, labels: Labels,
                 threshold: int, source: str) -> None:
        self.tables, self.scope, self.L = tables, scope, labels
        self.threshold, self.source = threshold, source
        self.school_year = self._school_year()
        self.scope_name = self._scope_name()
        self.country_name = labels["series.country"]
        self.series = ([self.scope_name] if scope.national
                       else [self.scope_name, self.country_name])
        self._chart_ids = 0
        # Rows by table and level: a country's file holds tens of thousands of rows and every
        # lookup names its level.
        self._levels: dict[tuple[str, object], list[dict]] = {}
        for name, rows in tables.items():
            for row in rows:
                self._levels.setdefault((name, row.get("level")), []).append(row)

    # rows

    def rows(self, table: str, **where: object) -> list[dict]:
        candidates = (self._levels.get((table, where.pop("level")), ()) if "level" in where
                      else self.tables.get(table, ()))
        return [r for r in candidates if all(r.get(k) == v for k, v in where.items())]

    def year_rows(self, table: str, **where: object) -> list[dict]:
        if self.school_year is None:
            return self.rows(table, **where)
        return self.rows(table, school_year=self.school_year, **where)

    def own(self, table: str, **where: object) -> list[dict]:
        """The scope's own rows (national, or the region's region rows)."""
        return [r for r in self.year_rows(table, level=self.scope.level, **where)
                if self.scope.holds(r)]

    def country(self, table: str, **where: object) -> list[dict]:
        return self.year_rows(table, level="national", **where)

    def units(self, table: str, level: str, **where: object) -> list[dict]:
        return [r for r in self.year_rows(table, level=level, **where) if self.scope.holds(r)]

    def series_rows(self, table: str, **where: object) -> list[tuple[str, dict | None]]:
        """(series name, its row or None) for the scope and, in a region report, the country."""
        pairs = [(self.scope_name, first(self.own(table, **where)))]
        if not self.scope.national:
            pairs.append((self.country_name, first(self.country(table, **where))))
        return pairs

    def _school_year(self) -> str | None:
        for table in REPORT_TABLES:
            years = [r.get("school_year") for r in self.tables.get(table, ())
                     if r.get("school_year")]
            if years:
                return max(years)
        return None

    def _scope_name(self) -> str:
        if self.scope.national:
            return self.L["series.country"]
        for table in REPORT_TABLES:
            for row in self.tables.get(table, ()):
                if row.get("region_code") == self.scope.region_code and row.get("region_name"):
                    return str(row["region_name"])
        return self.L.fill("series.region_code", code=self.scope.region_code)

    # cells

    def measure(self, table: str, row: dict | None, column: str, kind: str) -> Cell:
        """A published measure as shown: formatted, `..` where suppression hid it, `.` where
        it cannot be computed."""
        if row is None:
            return Cell(NOT_AVAILABLE, table=table, column=column, kind=kind, missing=True)
        value = row.get(column)
        origin = {"table": table, "key": _key(table, row), "column": column, "kind": kind}
        if bool(row.get("suppressed")):
            return Cell(SUPPRESSED, value=_plain(value), **origin)
        if is_missing(value):
            # Only tables with suppression hide values; elsewhere (data_freshness) a missing
            # value is simply not applicable.
            rests_on = RESTS_ON.get(table, {}).get(column)
            hidden = "suppressed" in row and (kind in ("count", "lessons") or (
                rests_on is not None and is_missing(row.get(rests_on))))
            return Cell(SUPPRESSED if hidden else NOT_AVAILABLE, value="", **origin)
        return Cell(self.write(value, kind), value=_plain(value), **origin)

    def text(self, table: str, row: dict, column: str, kind: str = "text") -> Cell:
        """A published label (a status, a reason, a date) as shown."""
        value = row.get(column)
        origin = {"table": table, "key": _key(table, row), "column": column, "kind": kind,
                  "value": _plain(value)}
        if is_missing(value):
            return Cell("" if kind == "text" else NOT_AVAILABLE, **origin)
        return Cell(self.write(value, kind), **origin)

    def count_of(self, table: str, where: dict, count: int) -> Cell:
        """How many published rows match `where` (e.g. municipalities by status)."""
        return Cell(self.L.number(count), table=table, key=_json(where), column="count(*)",
                    value=str(count), kind="count")

    def write(self, value: object, kind: str) -> str:
        L = self.L
        writers: dict[str, Callable[[object], str]] = {
            "pct": L.pct, "points": L.points, "count": L.number, "lessons": L.lessons,
            "days": L.days, "date": L.date, "datetime": L.datetime,
            "status": lambda v: L.get_text(f"status.{v}", str(v)),
            "tier": lambda v: L.get_text(f"tier.{v}", str(v)),
            "dimension": lambda v: L.get_text(f"dimension.{v}", str(v)),
        }
        return writers.get(kind, str)(value)

    def chart_id(self) -> str:
        self._chart_ids += 1
        return f"chart-{self._chart_ids}"

    def unit_name(self, row: dict) -> str:
        level = row.get("level")
        if level == "region":
            return str(row.get("region_name") or row.get("region_code"))
        if level == "municipality":
            return str(row.get("municipality_name") or row.get("municipality_code"))
        if level == "school":
            return self.L.fill("unit.school", code=row.get("school_code"),
                               municipality=row.get("municipality_name")
                               or row.get("municipality_code") or "")
        return self.country_name

    def term_name(self, term: str) -> str:
        return self.L.get_text(f"term.{term}", term)


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def first(rows: Sequence[dict]) -> dict | None:
    return rows[0] if rows else None


def _plain(value: object) -> str:
    """A value exactly, as text: a float by its repr (round-trips), a date in ISO form."""
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _json(mapping: dict) -> str:
    return json.dumps({k: (None if is_missing(v) else _plain(v)) for k, v in mapping.items()},
                      ensure_ascii=False)


def _key(table: str, row: dict) -> str:
    return _json({k: row.get(k) for k in ROW_KEYS[table]})
