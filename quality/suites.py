"""The Great Expectations suites (GX Core 1.x) behind each quality check.

Each suite validates one pandas frame: a suppressed table as it is about to be published, with
a few derived `check_*` columns where an expectation needs arithmetic across columns (GX's
pandas data source cannot express "a + b + c = d within a tolerance" directly), or the small
`municipality_coverage` frame built here from `data_freshness` and `absence_rates`.
Suite names are `<check>.<frame>`, e.g. `suppression_applied.absence_rates`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd
from great_expectations.expectations.row_conditions import Column

from pipelines.publish.suppression import RULES
from pipelines.tables import PUBLISHED, PUBLISHED_TABLES

FRESHNESS_STATUSES = ["ok", "late", "missing", "quarantined", "not_onboarded"]
COVERAGE_FRAME = "municipality_coverage"
# Exact arithmetic in SQL doubles: anything above this is a computation error, not rounding.
TOLERANCE = 1e-9

# [0, 1] columns per table; the change after intervention is a difference of two rates.
RATES = {name: table.with_role("share") for name, table in PUBLISHED.items()
         if table.with_role("share")}
CHANGE_BOUND = {"difference": 2}
CATEGORY_RATES = ["illness_rate", "authorised_rate", "unauthorised_rate", "unexplained_rate"]
TIERS = ["universal_students", "targeted_students", "intensive_students"]

# Columns that name a row in the metadata of a failed check.
KEY_COLUMNS = {name: list(rule.keys) for name, rule in RULES.items()}
KEY_COLUMNS["data_freshness"] = ["municipality_code"]
KEY_COLUMNS[COVERAGE_FRAME] = ["municipality_code", "freshness_status", "has_published_rates"]


@dataclass
class SuiteSpec:
    """One GX suite: the check it belongs to, the frame it validates, its expectations."""

    check: str
    frame: str
    expectations: list[gxe.Expectation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.check}.{self.frame}"

    def suite(self) -> gx.ExpectationSuite:
        return gx.ExpectationSuite(name=self.name, expectations=self.expectations)


def _num(series: pd.Series) -> pd.Series:
    """Floats from int, float, Decimal or object columns (None → NaN, which GX skips)."""
    return pd.to_numeric(series, errors="coerce").astype("float64")


def check_frames(tables: Mapping[str, pd.DataFrame],
                 expected_municipalities: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The frames the suites validate: the tables plus derived `check_*` columns, and the
    coverage of expected municipalities."""
    frames = dict(tables)
    rates = tables["absence_rates"]
    category_sum = sum(_num(rates[c]) for c in CATEGORY_RATES)
    frames["absence_rates"] = rates.assign(
        check_category_rate_gap=(category_sum - _num(rates["absence_rate"])).abs(),
        check_lesson_rate_gap=(_num(rates["absent_lessons"]) / _num(rates["scheduled_lessons"])
                               - _num(rates["absence_rate"])).abs(),
    )
    tiers = tables["attendance_tiers"]
    with_tier = _num(tiers["students_with_tier"])
    frames["attendance_tiers"] = tiers.assign(
        check_tier_count_gap=(sum(_num(tiers[c]) for c in TIERS) - with_tier).abs(),
        check_targeted_share_gap=(_num(tiers["targeted_students"]) / with_tier
                                  - _num(tiers["targeted_share"])).abs(),
        check_intensive_share_gap=(_num(tiers["intensive_students"]) / with_tier
                                   - _num(tiers["intensive_share"])).abs(),
        check_10pct_count_gap=(_num(tiers["targeted_students"]) + _num(tiers["intensive_students"])
                               - _num(tiers["students_10pct_or_more"])).abs(),
        check_10pct_share_gap=(_num(tiers["students_10pct_or_more"]) / with_tier
                               - _num(tiers["share_10pct_or_more"])).abs(),
    )
    metrics = tables["intervention_metrics"]
    frames["intervention_metrics"] = metrics.assign(
        check_in_change_excess=_num(metrics["students_in_change"])
        - _num(metrics["responded_targeted"]))
    frames.update(planning_frames(tables))
    frames[COVERAGE_FRAME] = municipality_coverage(tables, expected_municipalities)
    return frames


# Planning and evaluation tables (DESIGN §7.2): for each, derived columns that must be <= 0
# (a part larger than its whole) and gaps that must be within TOLERANCE (a figure that is not
# the arithmetic of the others). Suppressed values are null, and GX skips them.
PLANNING_EXCESS = {
    "support_caseload": [("overdue_targeted", "awaiting_targeted"),
                         ("awaiting_targeted", "students_with_tier"),
                         ("overdue_intensive", "awaiting_intensive"),
                         ("awaiting_intensive", "students_with_tier")],
    "local_threshold_crossings": [("responded", "crossed")],
    "absence_by_weekday": [("absent_lessons", "scheduled_lessons")],
    "absence_streaks": [("students_streak_10_or_more", "students_streak_3_or_more"),
                        ("students_streak_3_or_more", "students")],
    "intervention_effect": [],
}


PLANNING_GAPS = {"local_threshold_crossings": ["check_rate_gap"],
                 "absence_by_weekday": ["check_rate_gap"],
                 "intervention_effect": ["check_change_gap", "check_difference_gap"]}


def _planning_gaps(name: str, t: pd.DataFrame) -> dict[str, pd.Series]:
    """The PLANNING_GAPS columns of one table."""
    if name == "local_threshold_crossings":
        return {"check_rate_gap": (_num(t["responded"]) / _num(t["crossed"])
                                   - _num(t["timely_response_rate"])).abs()}
    if name == "absence_by_weekday":
        return {"check_rate_gap": (_num(t["absent_lessons"]) / _num(t["scheduled_lessons"])
                                   - _num(t["absence_rate"])).abs()}
    if name == "intervention_effect":
        return {"check_change_gap": (_num(t["mean_rate_after"]) - _num(t["mean_rate_before"])
                                     - _num(t["mean_change"])).abs(),
                "check_difference_gap": (_num(t["mean_change"])
                                         - _num(t["comparison_mean_change"])
                                         - _num(t["difference"])).abs()}
    return {}


def planning_frames(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The planning tables with their `check_*` columns (a table not published is left out)."""
    frames = {}
    for name, pairs in PLANNING_EXCESS.items():
        if name not in tables:
            continue
        table = tables[name]
        derived = {f"check_{part}_excess": _num(table[part]) - _num(table[whole])
                   for part, whole in pairs}
        frames[name] = table.assign(**derived, **_planning_gaps(name, table))
    return frames


def municipality_coverage(tables: Mapping[str, pd.DataFrame],
                          expected: Iterable[str]) -> pd.DataFrame:
    """One row per expected municipality: its data_freshness status (or `absent`) and whether
    the published absence_rates hold a municipality-level row for it."""
    freshness = tables["data_freshness"]
    status = dict(zip(freshness["municipality_code"].astype(str),
                      freshness["status"].astype(str), strict=True))
    rates = tables["absence_rates"]
    published = set(rates.loc[rates["level"] == "municipality", "municipality_code"].astype(str))
    # data_freshness lists every municipality; those never onboarded are expected of nothing.
    codes = sorted(set(expected) | {c for c, s in status.items() if s != "not_onboarded"})
    return pd.DataFrame({
        "municipality_code": pd.Series(codes, dtype=object),
        "freshness_status": pd.Series([status.get(c, "absent") for c in codes], dtype=object),
        "has_published_rates": pd.Series([c in published for c in codes], dtype=bool),
    })


def _unsuppressed():
    return Column("suppressed") == False  # noqa: E712 — a GX condition, not a Python test


def _suppressed():
    return Column("suppressed") == True  # noqa: E712


def suppression_suite(table: str, threshold: int) -> SuiteSpec:
    rule = RULES[table]
    spec = SuiteSpec("suppression_applied", table)
    count = rule.count_column
    spec.expectations += [
        gxe.ExpectColumnValuesToNotBeNull(column="suppressed"),
        gxe.ExpectColumnValuesToNotBeNull(column=count, row_condition=_unsuppressed()),
        gxe.ExpectColumnValuesToBeBetween(column=count, min_value=threshold,
                                          row_condition=_unsuppressed()),
    ]
    spec.expectations += [gxe.ExpectColumnValuesToBeNull(column=m, row_condition=_suppressed())
                          for m in rule.measures]
    for partial in rule.partial:
        # e.g. crossed_intensive: where it is published it is at least the threshold, and the
        # columns resting on it are null where it is not.
        spec.expectations.append(gxe.ExpectColumnValuesToBeBetween(
            column=partial.count_column, min_value=threshold))
        spec.expectations += [
            gxe.ExpectColumnValuesToBeNull(column=c,
                                           row_condition=Column(partial.count_column).is_null())
            for c in partial.columns if c != partial.count_column]
    return spec


def range_suite(table: str) -> SuiteSpec:
    declared = PUBLISHED[table]
    spec = SuiteSpec("rates_in_range", table)
    spec.expectations += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=1)
                          for c in RATES[table]]
    # A change is a difference of two rates, in [-1, 1]; a difference of two changes lies in
    # [-2, 2]. Response lags are not negative.
    spec.expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=c, min_value=-CHANGE_BOUND.get(c, 1),
                                          max_value=CHANGE_BOUND.get(c, 1))
        for c in declared.with_role("change")]
    spec.expectations += [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0)
                          for c in declared.with_role("days")]
    if table == "intervention_metrics":
        # The pupils behind the mean change responded, so they are among responded_targeted.
        spec.expectations.append(
            gxe.ExpectColumnValuesToBeBetween(column="check_in_change_excess", max_value=0))
    return spec


def category_suite() -> SuiteSpec:
    return SuiteSpec("category_rates_add_up", "absence_rates", [
        gxe.ExpectColumnValuesToBeBetween(column="check_category_rate_gap", min_value=0,
                                          max_value=TOLERANCE),
        gxe.ExpectColumnValuesToBeBetween(column="check_lesson_rate_gap", min_value=0,
                                          max_value=TOLERANCE),
    ])


def tier_suite() -> SuiteSpec:
    return SuiteSpec("tier_counts_add_up", "attendance_tiers", [
        gxe.ExpectColumnValuesToBeBetween(column="check_tier_count_gap", min_value=0,
                                          max_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="check_targeted_share_gap", min_value=0,
                                          max_value=TOLERANCE),
        gxe.ExpectColumnValuesToBeBetween(column="check_intensive_share_gap", min_value=0,
                                          max_value=TOLERANCE),
        # 10 % or more = targeted + intensive, over students_with_tier.
        gxe.ExpectColumnValuesToBeBetween(column="check_10pct_count_gap", min_value=0,
                                          max_value=0),
        gxe.ExpectColumnValuesToBeBetween(column="check_10pct_share_gap", min_value=0,
                                          max_value=TOLERANCE),
    ])


def planning_suite(table: str) -> SuiteSpec:
    """Parts no larger than their wholes, and figures equal to the arithmetic of the others."""
    spec = SuiteSpec("planning_counts_add_up", table)
    spec.expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=f"check_{part}_excess", max_value=0)
        for part, _ in PLANNING_EXCESS[table]]
    spec.expectations += [
        gxe.ExpectColumnValuesToBeBetween(column=gap, min_value=0, max_value=TOLERANCE)
        for gap in PLANNING_GAPS.get(table, [])]
    return spec


def coverage_suite() -> SuiteSpec:
    return SuiteSpec("expected_municipalities", COVERAGE_FRAME, [
        # Every expected municipality has a row in data_freshness that shows its state (one
        # published the night before cannot have become `not_onboarded`) ...
        gxe.ExpectColumnValuesToBeInSet(
            column="freshness_status",
            value_set=[s for s in FRESHNESS_STATUSES if s != "not_onboarded"]),
        # ... and one whose status is `ok` is in the published rates (else it must be flagged).
        gxe.ExpectColumnValuesToBeInSet(column="has_published_rates", value_set=[True],
                                        row_condition=Column("freshness_status") == "ok"),
    ])


def row_count_suite(table: str, previous: int | None, tolerance: float) -> SuiteSpec:
    if previous is None:  # first night: nothing to compare with, passes
        bounds = {"min_value": 0}
    else:
        bounds = {"min_value": math.floor(previous * (1 - tolerance)),
                  "max_value": math.ceil(previous * (1 + tolerance))}
    return SuiteSpec("row_counts_stable", table,
                     [gxe.ExpectTableRowCountToBeBetween(**bounds)])


def build_suites(threshold: int, previous_rows: Mapping[str, int],
                 tolerance: float) -> list[SuiteSpec]:
    """Every suite, fresh objects each call (a GX expectation belongs to one suite)."""
    suites = [suppression_suite(t, threshold) for t in RULES]
    suites += [range_suite(t) for t in RATES]
    suites += [category_suite(), tier_suite(), coverage_suite()]
    suites += [planning_suite(t) for t in PLANNING_EXCESS]
    suites += [row_count_suite(t, previous_rows.get(t), tolerance) for t in PUBLISHED_TABLES]
    return suites
