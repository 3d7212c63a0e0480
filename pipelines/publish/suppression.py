"""Small-cell suppression (DESIGN §8): primary below the threshold, then secondary.

Primary: a row whose pupil count is below the threshold has every count and rate nulled.
Secondary: where exactly one child row of a published parent is suppressed, the smallest other
child is suppressed too, repeated until nothing changes, so that no suppressed value can be
recovered as parent minus visible siblings. Children are taken along every hierarchy a table
has: geography (school → municipality → region → national), grade band (bands → `all`) and,
where periods nest, period (weeks, months, terms → school year), and the table's own nesting
(terms → `all`, dimensions → `all`, types of first response → `all`).

A partial rule hides some columns of a row on a count of their own (the intensive columns of
intervention_metrics on crossed_intensive); a complementary one also gets the secondary rule
along the same hierarchies (the comparison group of intervention_effect, a count that adds up
from schools to the country like the row's own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from pipelines.tables import MEASURE_ROLES, PUBLISHED

GEO_PARENT = {"school": ("municipality", "school_code"),
              "municipality": ("region", "municipality_code"),
              "region": ("national", "region_code")}


class Partial(NamedTuple):
    """Columns to null where the count they rest on is below the threshold; with
    `complementary`, also where the secondary rule hides that count."""

    columns: Sequence[str]
    count_column: str
    complementary: bool = False


@dataclass(frozen=True)
class TableRule:
    """How to suppress one published table."""

    count_column: str
    keys: Sequence[str]
    measures: Sequence[str]
    relations: Sequence[Callable[[pd.DataFrame], pd.DataFrame]]
    # Extra per-column rules: columns to null on a count column of their own.
    partial: Sequence[Partial] = ()


def geography(frame: pd.DataFrame) -> pd.DataFrame:
    parent = frame.copy()
    for level, (up, code) in GEO_PARENT.items():
        mask = frame["level"] == level
        parent.loc[mask, "level"] = up
        parent.loc[mask, code] = None
    parent.loc[frame["level"] == "national", "level"] = None
    return parent


def grade_band(frame: pd.DataFrame) -> pd.DataFrame:
    parent = frame.copy()
    parent.loc[frame["grade_band"] == "all", "level"] = None
    parent.loc[frame["grade_band"] != "all", "grade_band"] = "all"
    return parent


def school_year_period(frame: pd.DataFrame) -> pd.DataFrame:
    """Weeks, months and terms each partition their school year (by the record's period_end)."""
    parent = frame.copy()
    year_start = pd.to_datetime(frame["school_year"].str[:4] + "-08-01")
    parent["period_type"] = "school_year"
    parent["period_start"] = year_start.dt.date
    parent["period_end"] = (year_start + pd.DateOffset(years=1) - pd.Timedelta(days=1)).dt.date
    parent.loc[frame["period_type"] == "school_year", "level"] = None
    # Siblings must be of one kind: weeks with weeks, months with months.
    parent["_sibling_kind"] = frame["period_type"]
    return parent


def dimension(frame: pd.DataFrame) -> pd.DataFrame:
    """The four dimensions under `all`: their interventions add up to it (pupils do not, a
    pupil can have support of two kinds, but a count that adds up is reason enough)."""
    parent = frame.copy()
    parent.loc[frame["dimension"] == "all", "level"] = None
    parent.loc[frame["dimension"] != "all", "dimension"] = "all"
    return parent


def term(frame: pd.DataFrame) -> pd.DataFrame:
    parent = frame.copy()
    parent.loc[frame["term"] == "all", "level"] = None
    parent.loc[frame["term"] != "all", "term"] = "all"
    return parent


def intervention_type(frame: pd.DataFrame) -> pd.DataFrame:
    """Types of the first responding intervention under `all`: each pupil has one first
    response, so the types' pupils add up to `all` (intervention_effect)."""
    parent = frame.copy()
    parent.loc[frame["intervention_type"] == "all", "level"] = None
    parent.loc[frame["intervention_type"] != "all", "intervention_type"] = "all"
    return parent


def _key(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    parts = [frame[c].astype("str").where(frame[c].notna(), "") for c in columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + "\x1f" + part
    return key


def suppress(frame: pd.DataFrame, rule: TableRule, threshold: int) -> pd.DataFrame:
    """Return a copy with `suppressed` set and the measures of suppressed rows nulled."""
    out = frame.reset_index(drop=True).copy()
    counts = _counts(out, rule.count_column)
    groups = _sibling_groups(out, rule)
    suppressed = _complement(counts < threshold, counts, groups)
    out["suppressed"] = suppressed
    out.loc[suppressed, list(rule.measures)] = None
    for partial in rule.partial:
        partial_counts = _counts(out, partial.count_column)
        hidden = partial_counts < threshold
        if partial.complementary:
            hidden = _complement(hidden | suppressed, partial_counts, groups)
        out.loc[hidden, list(partial.columns)] = None
    return out


def _counts(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy()


def _sibling_groups(out: pd.DataFrame, rule: TableRule) -> list[tuple]:
    """Per relation: each row's sibling group, whether it has a published parent row, and
    the parent's position."""
    own_key = _key(out, rule.keys)
    groups = []
    for relation in rule.relations:
        parent = relation(out)
        has_parent = parent["level"].notna().to_numpy()
        parent_key = _key(parent, rule.keys)
        group = parent_key + "\x1e" + (parent["_sibling_kind"].astype("str")
                                       if "_sibling_kind" in parent else "")
        parent_index = pd.Series(np.arange(len(out)), index=own_key.to_numpy())
        parent_index = parent_index[~parent_index.index.duplicated()]
        parent_pos = parent_key.map(parent_index).to_numpy()
        groups.append((group.to_numpy(), has_parent & ~pd.isna(parent_pos), parent_pos))
    return groups


def _complement(hidden: np.ndarray, counts: np.ndarray, groups: list[tuple]) -> np.ndarray:
    """Secondary suppression: where exactly one child of a visible parent is hidden, hide the
    smallest other child too; an only child that is hidden hides its parent. Repeated until
    nothing changes."""
    suppressed = np.asarray(hidden, dtype=bool).copy()
    changed = True
    while changed:
        changed = False
        for group, has_parent, parent_pos in groups:
            rows = np.flatnonzero(has_parent)
            if not len(rows):
                continue
            sub = pd.DataFrame({
                "g": group[rows], "row": rows, "supp": suppressed[rows], "count": counts[rows],
                "parent": parent_pos[rows].astype(int),
            })
            sub = sub[~suppressed[sub["parent"].to_numpy()]]
            by_group = sub.groupby("g")["supp"]
            n_supp, size = by_group.transform("sum"), by_group.transform("size")
            # An only child equals its parent: suppressing it means suppressing the parent.
            lone = sub[(size == 1) & sub["supp"]]["parent"].to_numpy()
            candidates = sub[(n_supp == 1) & ~sub["supp"]]
            pick = candidates.sort_values(["count", "row"]).drop_duplicates("g")["row"]
            if len(lone) or len(pick):
                suppressed[lone] = True
                suppressed[pick.to_numpy()] = True
                changed = True
    return suppressed


def _rule(table: str, count_column: str, relations, partial=()) -> TableRule:
    """A table's rule: its keys and measures come from its declaration (pipelines/tables.py)."""
    declared = PUBLISHED[table]
    return TableRule(count_column=count_column, keys=declared.with_role("key"),
                     measures=declared.with_role(*MEASURE_ROLES), relations=relations,
                     partial=partial)


# Every published table but data_freshness (one row per municipality, no pupil counts).
RULES: dict[str, TableRule] = {
    "absence_rates": _rule("absence_rates", "students",
                           [geography, grade_band, school_year_period]),
    "attendance_tiers": _rule("attendance_tiers", "students_with_tier",
                              [geography, grade_band]),
    "intervention_metrics": _rule(
        "intervention_metrics", "crossed_targeted", [geography, term],
        partial=[Partial(["crossed_intensive", "responded_intensive",
                          "intensive_response_rate"], "crossed_intensive"),
                 # The mean change rests on the pupils whose change could be measured.
                 Partial(["students_in_change", "mean_rate_change_after_intervention"],
                         "students_in_change")]),
    "interventions_by_type": _rule("interventions_by_type", "students", [geography, term]),
    "interventions_by_dimension": _rule("interventions_by_dimension", "students",
                                        [geography, term, dimension]),
    # Planning and evaluation (DESIGN §7.2), each on the pupils its row rests on.
    "support_caseload": _rule("support_caseload", "students_with_tier",
                              [geography, grade_band]),
    # Municipality and school rows only: a school is a child of its municipality.
    "local_threshold_crossings": _rule("local_threshold_crossings", "crossed",
                                       [geography, term]),
    "absence_by_weekday": _rule("absence_by_weekday", "students", [geography, term]),
    "absence_streaks": _rule("absence_streaks", "students", [geography, term]),
    "intervention_effect": _rule(
        "intervention_effect", "students_in_change", [geography, intervention_type],
        # The comparison group is a pupil count of its own, adding up from schools to the
        # country: hidden below the threshold, and complemented like the row's count.
        partial=[Partial(["comparison_students", "comparison_mean_change", "difference"],
                         "comparison_students", complementary=True)]),
}
