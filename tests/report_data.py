"""Small published files for the report's tests: `national.duckdb` and `regions/<rr>.duckdb`
with exactly the published tables' columns (DESIGN §8, §8.1), built here rather than by the
pipeline so the report can be tested alone.

Contents (school year 2026-2027, data through Friday 27 November 2026):
- region 01 Uusimaa: 091 Helsinki (schools 00101, 00102 and 00103 with 3 pupils: 00103 is
  suppressed, and 00102 secondarily), 049 Espoo (schools 04901, 04902; its newest drop is
  quarantined), 092 Vantaa (expected, never delivered: `missing`);
- region 02 Varsinais-Suomi: 853 Turku alone (one municipality; `late`; too few 20 %
  crossings in the region, so its intensive columns are hidden while the row is not);
- 020 Akaa (region 06 Pirkanmaa) is in the classification but `not_onboarded`.
Helsinki declares a ladder of 30/60/80/120 lessons (local_threshold_crossings). In region
02 the comparison group of intervention_effect is too small, so its columns are hidden while
the rows are not. Weeks 33-48 and months August-November, the autumn term and the school
year; Sundays 16 August - 22 November; periods ending after 13 November are provisional.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

SCHOOL_YEAR = "2026-2027"
DATA_THROUGH = date(2026, 11, 27)
PROVISIONAL_AFTER = DATA_THROUGH - timedelta(days=14)
THRESHOLD = 5

UNIT_COLUMNS = ("level varchar, region_code varchar, region_name varchar, "
                "municipality_code varchar, municipality_name varchar, school_code varchar")
DDL = {
    "absence_rates": f"""{UNIT_COLUMNS}, school_year varchar, period_type varchar,
        period_start date, period_end date, grade_band varchar, students bigint,
        scheduled_lessons double, absent_lessons double, absence_rate double,
        illness_rate double, authorised_rate double, unauthorised_rate double,
        unexplained_rate double, late_count bigint, data_through date, provisional boolean,
        suppressed boolean""",
    "attendance_tiers": f"""{UNIT_COLUMNS}, school_year varchar, as_of_date date,
        grade_band varchar, students_with_tier bigint, universal_students bigint,
        targeted_students bigint, intensive_students bigint, targeted_share double,
        intensive_share double, students_10pct_or_more bigint, share_10pct_or_more double,
        data_through date, provisional boolean, suppressed boolean""",
    "intervention_metrics": f"""{UNIT_COLUMNS}, school_year varchar, term varchar,
        crossed_targeted bigint, responded_targeted bigint, timely_response_rate double,
        median_response_lag_days double, crossed_intensive bigint, responded_intensive bigint,
        intensive_response_rate double, mean_rate_change_after_intervention double,
        students_in_change bigint, suppressed boolean""",
    "interventions_by_type": f"""{UNIT_COLUMNS}, school_year varchar, term varchar,
        intervention_type varchar, intervention_name_fi varchar, tier varchar,
        dimension varchar, interventions bigint, students bigint, suppressed boolean""",
    "interventions_by_dimension": f"""{UNIT_COLUMNS}, school_year varchar, term varchar,
        dimension varchar, interventions bigint, students bigint, suppressed boolean""",
    "support_caseload": f"""{UNIT_COLUMNS}, school_year varchar, as_of_date date,
        grade_band varchar, students_with_tier bigint, awaiting_targeted bigint,
        overdue_targeted bigint, awaiting_intensive bigint, overdue_intensive bigint,
        suppressed boolean""",
    "local_threshold_crossings": f"""{UNIT_COLUMNS}, school_year varchar, term varchar,
        threshold_lessons double, label varchar, crossed bigint, responded bigint,
        timely_response_rate double, median_response_lag_days double, suppressed boolean""",
    "absence_by_weekday": f"""{UNIT_COLUMNS}, school_year varchar, term varchar,
        weekday integer, students bigint, scheduled_lessons double, absent_lessons double,
        absence_rate double, suppressed boolean""",
    "absence_streaks": f"""{UNIT_COLUMNS}, school_year varchar, term varchar,
        students bigint, students_streak_3_or_more bigint,
        students_streak_10_or_more bigint, suppressed boolean""",
    "intervention_effect": f"""{UNIT_COLUMNS}, school_year varchar,
        intervention_type varchar, intervention_name_fi varchar, students_in_change bigint,
        mean_rate_before double, mean_rate_after double, mean_change double,
        comparison_students bigint, comparison_mean_change double, difference double,
        suppressed boolean""",
    "data_freshness": """municipality_code varchar, municipality_name varchar,
        region_code varchar, region_name varchar, last_extract_id varchar,
        last_extracted_at timestamp with time zone, last_loaded_at timestamp with time zone,
        coverage_end date, status varchar, last_error varchar, rejected_rows bigint""",
}
TABLES = tuple(DDL)
MEASURES = {
    "absence_rates": ("students", "scheduled_lessons", "absent_lessons", "absence_rate",
                      "illness_rate", "authorised_rate", "unauthorised_rate",
                      "unexplained_rate", "late_count"),
    "attendance_tiers": ("students_with_tier", "universal_students", "targeted_students",
                         "intensive_students", "targeted_share", "intensive_share",
                         "students_10pct_or_more", "share_10pct_or_more"),
    "intervention_metrics": ("crossed_targeted", "responded_targeted", "timely_response_rate",
                             "median_response_lag_days", "crossed_intensive",
                             "responded_intensive", "intensive_response_rate",
                             "mean_rate_change_after_intervention", "students_in_change"),
    "interventions_by_type": ("interventions", "students"),
    "interventions_by_dimension": ("interventions", "students"),
    "support_caseload": ("students_with_tier", "awaiting_targeted", "overdue_targeted",
                         "awaiting_intensive", "overdue_intensive"),
    "local_threshold_crossings": ("crossed", "responded", "timely_response_rate",
                                  "median_response_lag_days"),
    "absence_by_weekday": ("students", "scheduled_lessons", "absent_lessons",
                           "absence_rate"),
    "absence_streaks": ("students", "students_streak_3_or_more",
                        "students_streak_10_or_more"),
    "intervention_effect": ("students_in_change", "mean_rate_before", "mean_rate_after",
                            "mean_change", "comparison_students", "comparison_mean_change",
                            "difference"),
}
# Helsinki's ladder in hours (lessons), as a municipality would declare it in the seed.
LADDER = ((30.0, "30 h"), (60.0, "60 h"), (80.0, "80 h"), (120.0, "120 h"))

TYPES = (  # DESIGN §6.2: type, Finnish name, tier, dimension
    ("concern_raised", "Huolen puheeksi ottaminen", "targeted", "cooperation"),
    ("background_investigation", "Taustasyiden selvittäminen", "targeted", "wellbeing"),
    ("support_level_review", "Pedagogisen tuen tason tarkastaminen", "targeted", "learning"),
    ("consultation", "Konsultaatio", "targeted", "awareness"),
    ("school_coach", "Kouluvalmentajan työskentely", "targeted", "wellbeing"),
    ("individual_attendance_plan", "Yksilöllinen suunnitelma läsnäolon tukemiseksi",
     "intensive", "wellbeing"),
    ("multi_professional_group", "Monialainen asiantuntijaryhmä", "intensive", "cooperation"),
)
DIMENSIONS = ("wellbeing", "learning", "cooperation", "awareness")


@dataclass(frozen=True)
class Unit:
    level: str
    region_code: str | None
    region_name: str | None
    municipality_code: str | None
    municipality_name: str | None
    school_code: str | None
    pupils: int
    suppressed: bool = False  # primary (too few pupils) or secondary

    def columns(self) -> dict:
        return {"level": self.level, "region_code": self.region_code,
                "region_name": self.region_name, "municipality_code": self.municipality_code,
                "municipality_name": self.municipality_name, "school_code": self.school_code}


NATIONAL = Unit("national", None, None, None, None, None, 5_000)
REGIONS = {
    "01": Unit("region", "01", "Uusimaa", None, None, None, 3_000),
    "02": Unit("region", "02", "Varsinais-Suomi", None, None, None, 1_200),
}
MUNICIPALITIES = (
    Unit("municipality", "01", "Uusimaa", "049", "Espoo", None, 1_000),
    Unit("municipality", "01", "Uusimaa", "091", "Helsinki", None, 2_000),
    Unit("municipality", "02", "Varsinais-Suomi", "853", "Turku", None, 1_200),
)
SCHOOLS = (
    Unit("school", "01", "Uusimaa", "049", "Espoo", "04901", 600),
    Unit("school", "01", "Uusimaa", "049", "Espoo", "04902", 400),
    Unit("school", "01", "Uusimaa", "091", "Helsinki", "00101", 1_200),
    Unit("school", "01", "Uusimaa", "091", "Helsinki", "00102", 797, suppressed=True),
    Unit("school", "01", "Uusimaa", "091", "Helsinki", "00103", 3, suppressed=True),
    Unit("school", "02", "Varsinais-Suomi", "853", "Turku", "85301", 700),
    Unit("school", "02", "Varsinais-Suomi", "853", "Turku", "85302", 500),
)
FRESHNESS = (  # municipality, name, region, region name, status, last error
    ("020", "Akaa", "06", "Pirkanmaa", "not_onboarded",
     "not expected and no drop delivered"),
    ("049", "Espoo", "01", "Uusimaa", "quarantined",
     "newest drop quarantined: sha256 of file 'marks' does not match the manifest"),
    ("091", "Helsinki", "01", "Uusimaa", "ok", None),
    ("092", "Vantaa", "01", "Uusimaa", "missing", "expected, no loadable drop delivered"),
    ("853", "Turku", "02", "Varsinais-Suomi", "late",
     "last extract 52 hours older than the newest extract of any municipality"),
)


# Each unit's typical absence rate, so the levels tell one plausible story.
BASE_RATE = {"national": 0.058, "01": 0.061, "02": 0.052, "049": 0.055, "091": 0.064,
             "853": 0.052, "04901": 0.05, "04902": 0.062, "00101": 0.066, "85301": 0.048,
             "85302": 0.057}


def _base_rate(unit: Unit) -> float:
    code = unit.school_code or unit.municipality_code or unit.region_code or unit.level
    return BASE_RATE.get(code, 0.058)


def _rng(*parts: object) -> random.Random:
    return random.Random("/".join(str(p) for p in parts))


def _provisional(end: date) -> bool:
    return end > PROVISIONAL_AFTER


def _periods() -> list[tuple[str, date, date]]:
    periods = [("school_year", date(2026, 8, 1), date(2027, 7, 31)),
               ("term", date(2026, 8, 1), date(2026, 12, 31))]
    for month in (8, 9, 10, 11):
        end = date(2026, month + 1, 1) - timedelta(days=1)
        periods.append(("month", date(2026, month, 1), end))
    monday = date(2026, 8, 10)
    while monday <= DATA_THROUGH:
        periods.append(("week", monday, monday + timedelta(days=6)))
        monday += timedelta(days=7)
    return periods


def _rate_row(unit: Unit, period_type: str, start: date, end: date, band: str) -> dict:
    rng = _rng(unit, period_type, start, band)
    share = {"all": 1.0, "1-2": 0.22, "3-6": 0.45, "7-9": 0.33}[band]
    students = max(round(unit.pupils * share), 1) if unit.pupils > 5 else unit.pupils
    lessons = {"week": 25, "month": 95, "term": 400, "school_year": 400}[period_type]
    scheduled = float(students * lessons)
    season = 0.012 * (start.month - 8) / 3 if start.month >= 8 else 0.012  # rises to winter
    rate = (_base_rate(unit) + season + rng.uniform(-0.004, 0.004)
            + {"1-2": -0.012, "3-6": -0.006, "7-9": 0.015, "all": 0.0}[band])
    parts = [rng.uniform(0.5, 0.65), rng.uniform(0.15, 0.2), rng.uniform(0.03, 0.06)]
    parts.append(1.0 - sum(parts))
    absent = round(scheduled * rate, 1)
    suppressed = unit.suppressed or students < THRESHOLD
    row = {**unit.columns(), "school_year": SCHOOL_YEAR, "period_type": period_type,
           "period_start": start, "period_end": end, "grade_band": band,
           "students": students, "scheduled_lessons": scheduled, "absent_lessons": absent,
           "absence_rate": absent / scheduled,
           "illness_rate": absent * parts[0] / scheduled,
           "authorised_rate": absent * parts[1] / scheduled,
           "unauthorised_rate": absent * parts[2] / scheduled,
           "unexplained_rate": absent * parts[3] / scheduled,
           "late_count": rng.randint(0, students), "data_through": DATA_THROUGH,
           "provisional": _provisional(end), "suppressed": suppressed}
    return _hide(row, "absence_rates")


def _tier_row(unit: Unit, sunday: date, band: str) -> dict:
    rng = _rng(unit, "tiers", sunday, band)
    students = unit.pupils if band == "all" else max(round(unit.pupils / 3), 1)
    weeks = (sunday - date(2026, 8, 16)).days / 7
    targeted = round(students * min(0.05 + 0.004 * weeks + rng.uniform(0, 0.01), 0.2))
    intensive = round(students * min(0.01 + 0.002 * weeks + rng.uniform(0, 0.005), 0.1))
    row = {**unit.columns(), "school_year": SCHOOL_YEAR, "as_of_date": sunday,
           "grade_band": band, "students_with_tier": students,
           "universal_students": students - targeted - intensive,
           "targeted_students": targeted, "intensive_students": intensive,
           "targeted_share": targeted / students, "intensive_share": intensive / students,
           "students_10pct_or_more": targeted + intensive,
           "share_10pct_or_more": (targeted + intensive) / students,
           "data_through": DATA_THROUGH, "provisional": _provisional(sunday),
           "suppressed": unit.suppressed or students < THRESHOLD}
    return _hide(row, "attendance_tiers")


def _caseload_row(unit: Unit, sunday: date) -> dict:
    rng = _rng(unit, "caseload", sunday)
    students = unit.pupils
    awaiting = round(students * rng.uniform(0.01, 0.04))
    awaiting_intensive = round(awaiting * rng.uniform(0.2, 0.5))
    row = {**unit.columns(), "school_year": SCHOOL_YEAR, "as_of_date": sunday,
           "grade_band": "all", "students_with_tier": students,
           "awaiting_targeted": awaiting, "overdue_targeted": round(awaiting * 0.6),
           "awaiting_intensive": awaiting_intensive,
           "overdue_intensive": round(awaiting_intensive * 0.5),
           "suppressed": unit.suppressed or students < THRESHOLD}
    return _hide(row, "support_caseload")


def _ladder_rows(unit: Unit, term: str) -> list[dict]:
    if unit.level not in ("municipality", "school") or unit.municipality_code != "091":
        return []
    rows = []
    for threshold, label in LADDER:
        rng = _rng(unit, "ladder", threshold, term)
        crossed = round(unit.pupils * 0.2 * 30 / threshold) if unit.pupils > 5 else 2
        responded = round(crossed * rng.uniform(0.3, 0.8))
        row = {**unit.columns(), "school_year": SCHOOL_YEAR, "term": term,
               "threshold_lessons": threshold, "label": label, "crossed": crossed,
               "responded": responded,
               "timely_response_rate": responded / crossed if crossed else None,
               "median_response_lag_days": float(rng.choice([2, 5.5, 8, 11])),
               "suppressed": unit.suppressed or crossed < THRESHOLD}
        rows.append(_hide(row, "local_threshold_crossings"))
    return rows


def _weekday_rows(unit: Unit, term: str) -> list[dict]:
    rows = []
    for weekday in (1, 2, 3, 4, 5):
        rng = _rng(unit, "weekday", weekday, term)
        students = round(unit.pupils * 0.7)
        scheduled = float(students * 5 * 15)
        rate = _base_rate(unit) + (0.012 if weekday in (1, 5) else 0.0) + rng.uniform(0, 0.004)
        absent = round(scheduled * rate, 1)
        rows.append(_hide({
            **unit.columns(), "school_year": SCHOOL_YEAR, "term": term, "weekday": weekday,
            "students": students, "scheduled_lessons": scheduled, "absent_lessons": absent,
            "absence_rate": absent / scheduled,
            "suppressed": unit.suppressed or students < THRESHOLD}, "absence_by_weekday"))
    return rows


def _streak_row(unit: Unit, term: str) -> dict:
    rng = _rng(unit, "streaks")
    students = round(unit.pupils * 0.7)
    three = round(students * rng.uniform(0.01, 0.03))
    return _hide({
        **unit.columns(), "school_year": SCHOOL_YEAR, "term": term, "students": students,
        "students_streak_3_or_more": three, "students_streak_10_or_more": round(three * 0.2),
        "suppressed": unit.suppressed or students < THRESHOLD}, "absence_streaks")


def _effect_rows(unit: Unit) -> list[dict]:
    rows = []
    comparison = 3 if unit.region_code == "02" else round(unit.pupils * 0.02)
    comparison_change = -_rng(unit, "comparison").uniform(0.0, 0.01)
    for kind, name, _, _ in (*TYPES, ("all", None, None, None)):
        rng = _rng(unit, "effect", kind)
        students = (round(unit.pupils * 0.05) if kind == "all" else
                    round(unit.pupils * rng.uniform(0.001, 0.01)))
        before = _base_rate(unit) + rng.uniform(0.08, 0.12)
        after = before - rng.uniform(0.0, 0.04)
        row = {**unit.columns(), "school_year": SCHOOL_YEAR, "intervention_type": kind,
               "intervention_name_fi": name, "students_in_change": students,
               "mean_rate_before": before, "mean_rate_after": after,
               "mean_change": after - before, "comparison_students": comparison,
               "comparison_mean_change": comparison_change,
               "difference": after - before - comparison_change,
               "suppressed": unit.suppressed or students < THRESHOLD}
        row = _hide(row, "intervention_effect")
        if not row["suppressed"] and comparison < THRESHOLD:  # the partial rule
            row.update(comparison_students=None, comparison_mean_change=None,
                       difference=None)
        rows.append(row)
    return rows


def _metrics_row(unit: Unit, term: str) -> dict:
    rng = _rng(unit, "metrics")  # no spring yet: `all` equals `autumn`
    crossed = max(round(unit.pupils * 0.12), 0)
    responded = round(crossed * rng.uniform(0.45, 0.8))
    crossed_intensive = 3 if unit.region_code == "02" else round(unit.pupils * 0.03)
    responded_intensive = round(crossed_intensive * rng.uniform(0.3, 0.7))
    in_change = round(responded * 0.8)
    row = {**unit.columns(), "school_year": SCHOOL_YEAR, "term": term,
           "crossed_targeted": crossed, "responded_targeted": responded,
           "timely_response_rate": responded / crossed if crossed else None,
           "median_response_lag_days": float(rng.choice([3, 4.5, 6, 7, 9.5, 12])),
           "crossed_intensive": crossed_intensive, "responded_intensive": responded_intensive,
           "intensive_response_rate": (responded_intensive / crossed_intensive
                                    if crossed_intensive else None),
           "mean_rate_change_after_intervention": -rng.uniform(0.005, 0.04),
           "students_in_change": in_change,
           "suppressed": unit.suppressed or crossed < THRESHOLD}
    row = _hide(row, "intervention_metrics")
    if not row["suppressed"] and crossed_intensive < THRESHOLD:  # the partial rule
        row.update(crossed_intensive=None, responded_intensive=None,
                   intensive_response_rate=None)
    return row


def _type_rows(unit: Unit, term: str) -> list[dict]:
    rows = []
    for number, (kind, name, tier, dimension) in enumerate(TYPES):
        rng = _rng(unit, "type", kind)
        students = round(unit.pupils * rng.uniform(0.004, 0.03)) if number != 3 else 2
        rows.append(_hide({
            **unit.columns(), "school_year": SCHOOL_YEAR, "term": term,
            "intervention_type": kind, "intervention_name_fi": name, "tier": tier,
            "dimension": dimension, "interventions": round(students * rng.uniform(1, 1.6)),
            "students": students,
            "suppressed": unit.suppressed or students < THRESHOLD}, "interventions_by_type"))
    return rows


def _dimension_rows(unit: Unit, term: str) -> list[dict]:
    rows = []
    for dimension in (*DIMENSIONS, "all"):
        rng = _rng(unit, "dimension", dimension)
        share = 0.06 if dimension == "all" else rng.uniform(0.005, 0.03)
        students = round(unit.pupils * share)
        rows.append(_hide({
            **unit.columns(), "school_year": SCHOOL_YEAR, "term": term,
            "dimension": dimension, "interventions": round(students * rng.uniform(1.1, 1.8)),
            "students": students, "suppressed": unit.suppressed or students < THRESHOLD},
            "interventions_by_dimension"))
    return rows


def _hide(row: dict, table: str) -> dict:
    if row["suppressed"]:
        row.update(dict.fromkeys(MEASURES[table]))
    return row


def _freshness_row(code, name, region, region_name, status, error) -> dict:
    delivered = status in ("ok", "late", "quarantined")
    loaded = datetime(2026, 11, 28, 3, 12, tzinfo=UTC)
    if status == "late":
        loaded -= timedelta(hours=52)
    return {"municipality_code": code, "municipality_name": name, "region_code": region,
            "region_name": region_name,
            "last_extract_id": "20261127T234000" if delivered else None,
            "last_extracted_at": loaded - timedelta(hours=4) if delivered else None,
            "last_loaded_at": loaded if delivered else None,
            "coverage_end": (DATA_THROUGH - timedelta(days=2 if status == "late" else 0)
                             if delivered else None),
            "status": status, "last_error": error,
            "rejected_rows": (12 if status == "quarantined" else 0) if delivered else None}


def published_rows(units: list[Unit]) -> dict[str, list[dict]]:
    """Every table's rows for these units."""
    periods = _periods()
    sundays = [date(2026, 8, 16) + timedelta(days=7 * n) for n in range(15)]
    sundays = [s for s in sundays if s <= DATA_THROUGH]
    tables: dict[str, list[dict]] = {name: [] for name in TABLES}
    for unit in units:
        for period_type, start, end in periods:
            bands = ("all", "1-2", "3-6", "7-9") if period_type == "school_year" else ("all",)
            tables["absence_rates"] += [_rate_row(unit, period_type, start, end, band)
                                        for band in bands]
        tables["attendance_tiers"] += [_tier_row(unit, sunday, band) for sunday in sundays
                                       for band in ("all", "7-9")]
        tables["support_caseload"] += [_caseload_row(unit, sunday) for sunday in sundays]
        for term in ("autumn", "all"):
            tables["intervention_metrics"].append(_metrics_row(unit, term))
            tables["interventions_by_type"] += _type_rows(unit, term)
            tables["interventions_by_dimension"] += _dimension_rows(unit, term)
            tables["local_threshold_crossings"] += _ladder_rows(unit, term)
            tables["absence_by_weekday"] += _weekday_rows(unit, term)
            tables["absence_streaks"].append(_streak_row(unit, term))
        tables["intervention_effect"] += _effect_rows(unit)
    return tables


def write_file(path: Path, tables: dict[str, list[dict]]) -> None:
    """One published DuckDB file with these tables (columns and types exactly as published)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with duckdb.connect(str(path)) as con:
        for name, rows in tables.items():
            con.execute(f'create table "{name}" ({DDL[name]})')
            if rows:
                frame = pa.Table.from_pylist(rows)  # noqa: F841 — read by name below
                con.execute(f'insert into "{name}" by name select * from frame')


def write_published(published: Path) -> dict[str, Path]:
    """`national.duckdb` and `regions/01.duckdb`, `regions/02.duckdb` under `published`."""
    national = published_rows([NATIONAL, *REGIONS.values(), *MUNICIPALITIES])
    national["data_freshness"] = [_freshness_row(*row) for row in FRESHNESS]
    paths = {"national": published / "national.duckdb"}
    write_file(paths["national"], national)
    for code, region in REGIONS.items():
        units = [NATIONAL, region, *(u for u in (*MUNICIPALITIES, *SCHOOLS)
                                     if u.region_code == code)]
        tables = published_rows(units)
        tables["data_freshness"] = [_freshness_row(*row) for row in FRESHNESS
                                    if row[2] == code]
        paths[code] = published / "regions" / f"{code}.duckdb"
        write_file(paths[code], tables)
    return paths
