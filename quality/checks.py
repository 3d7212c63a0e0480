"""The quality checks on the published tables: one Dagster asset check each, one or more Great
Expectations suites behind each. Importing this module does not import Great Expectations."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QualityCheck:
    name: str
    description: str
    blocking: bool  # a failure stops publishing (severity ERROR) instead of warning


CHECKS: tuple[QualityCheck, ...] = (
    QualityCheck(
        "suppression_applied",
        "GX: no row with suppressed = false rests on fewer pupils than the suppression "
        "threshold (students, students_with_tier, crossed_targeted, crossed, "
        "students_in_change; the intensive columns on crossed_intensive, the comparison "
        "columns of intervention_effect on comparison_students), and suppressed rows carry "
        "no counts or rates (DESIGN §8). Blocking: nothing is published when it fails.",
        blocking=True),
    QualityCheck(
        "rates_in_range",
        "GX: every rate and share lies in [0, 1], every change after intervention in "
        "[-1, 1] (a difference of two changes in [-2, 2]), response lags are not negative, "
        "and the pupils behind the mean change are no more than the pupils who responded. "
        "Blocking.",
        blocking=True),
    QualityCheck(
        "category_rates_add_up",
        "GX: illness + authorised + unauthorised + unexplained rate = absence_rate, and "
        "absent_lessons / scheduled_lessons = absence_rate (within 1e-9). Blocking.",
        blocking=True),
    QualityCheck(
        "tier_counts_add_up",
        "GX: universal + targeted + intensive pupils = students_with_tier, 10 % or more = "
        "targeted + intensive, and the shares are the counts over students_with_tier. "
        "Blocking.",
        blocking=True),
    QualityCheck(
        "planning_counts_add_up",
        "GX, on the planning and evaluation tables (DESIGN §7.2): overdue <= awaiting <= "
        "students_with_tier in support_caseload; responded <= crossed and the rate = "
        "responded / crossed for local ladders; absent <= scheduled lessons and the rate = "
        "absent / scheduled by weekday; 10-day <= 3-day streak pupils <= students; and in "
        "intervention_effect mean_change = mean_rate_after - mean_rate_before and difference "
        "= mean_change - comparison_mean_change (within 1e-9). Blocking.",
        blocking=True),
    QualityCheck(
        "expected_municipalities",
        "GX: every expected municipality (dbt seed expected_municipalities, every municipality "
        "in data_freshness, every one published the previous night) has published rates or "
        "is flagged late, missing or quarantined in data_freshness. Warning only.",
        blocking=False),
    QualityCheck(
        "row_counts_stable",
        "GX: each published table's row count is within the tolerance "
        "(ABSENCE_ROW_COUNT_TOLERANCE, default ±20 %) of the previous published night; the "
        "first night passes. Warning only.",
        blocking=False),
)

BLOCKING = frozenset(c.name for c in CHECKS if c.blocking)

