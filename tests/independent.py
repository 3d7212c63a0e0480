"""An independent reading of landing drops and of the contract's metrics, for the tests.

Plain Python (csv, json, openpyxl) written from DESIGN §3-§8 alone: it shares no code with
the pipeline, so agreement between the two is evidence, not an echo.
"""

from __future__ import annotations

import csv
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[1] / "dbt_project/seeds/reference/kunnat_2026.csv"
ABSENT = {"S", "L", "LV", "SE", "ILLNESS", "AUTHORISED", "UNAUTHORISED", "UNEXPLAINED",
          "sairaus", "luvallinen", "luvaton", "selvittamaton"}
LATE = {"M", "LATE", "myohastymiset"}
# DESIGN §6.2: local intervention codes of each profile -> harmonised type.
TYPES = ["concern_raised", "background_investigation", "targeted_work",
         "learning_difficulty_assessment", "support_level_review",
         "intensified_learning_support", "service_guidance", "consultation",
         "individual_attendance_plan", "multi_professional_group", "flexible_arrangements",
         "special_pedagogical_arrangements", "school_coach"]
CSV_CODES = (
    "HUOLI TAUSTA KOHD OPVAIK TUKITASO TEHOST PALVELU KONS SUUNN MONIAL JOUSTO ERITYIS VALMENT")
JSON_CODES = ("guardian_contact background_assessment targeted_work learning_assessment "
              "support_review intensified_support service_referral consultation attendance_plan "
              "multi_professional_group flexible_arrangements special_arrangements school_coach")
FI_NAMES = ["Huolen puheeksi ottaminen", "Taustasyiden selvittäminen",
            "Kohdennettu työskentely yksilöllisesti tai ryhmässä",
            "Oppimisvaikeuksien selvittäminen", "Pedagogisen tuen tason tarkastaminen",
            "Tehostetut oppimisen tukitoimet", "Palveluohjaus", "Konsultaatio",
            "Yksilöllinen suunnitelma läsnäolon tukemiseksi", "Monialainen asiantuntijaryhmä",
            "Joustavat opetusjärjestelyt", "Pedagogiset erityisjärjestelyt",
            "Kouluvalmentajan työskentely"]
INTERVENTION_TYPE = {**dict(zip(CSV_CODES.split(), TYPES, strict=True)),
                     **dict(zip(JSON_CODES.split(), TYPES, strict=True)),
                     **dict(zip(FI_NAMES, TYPES, strict=True))}
INTENSIVE_RESPONSE = {"individual_attendance_plan", "multi_professional_group"}


@dataclass
class Record:
    pupil: str
    municipality: str
    period_end: date
    scheduled: Fraction
    absent: Fraction = Fraction(0)
    late: Fraction = Fraction(0)
    weekly: bool = False  # a Monday-Sunday record of the weekly spreadsheet


@dataclass
class Landing:
    records: list[Record] = field(default_factory=list)
    enrolments: dict[str, list[tuple[date, date | None]]] = field(
        default_factory=lambda: defaultdict(list))
    interventions: list[tuple[str, date, str]] = field(default_factory=list)


def region_of() -> dict[str, str]:
    with REFERENCE.open(encoding="utf-8") as handle:
        return {row["kunta_code"]: row["maakunta_code"] for row in csv.DictReader(handle)}


def read_landing(landing: Path, drops: list[Path] | None = None) -> Landing:
    """What should be published from these drops (default: every drop in the landing zone),
    by DESIGN §3: per municipality and day the drop with the latest `extracted_at` whose
    coverage holds the day wins; the latest drop's students are the enrolments."""
    folders = drops if drops is not None else [
        p.parent for p in sorted(landing.glob("*/*/manifest.json"))]
    parsed = []
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        one = Landing()
        reader = {"lesson_marks_csv": _csv, "daily_summary_jsonl": _jsonl,
                  "weekly_totals_xlsx": _xlsx}[manifest["profile"]]
        reader(manifest, folder, one)
        parsed.append((datetime.fromisoformat(manifest["extracted_at"]),
                       manifest["municipality_code"],
                       date.fromisoformat(manifest["coverage"]["start"]),
                       date.fromisoformat(manifest["coverage"]["end"]), one))
    parsed.sort(key=lambda item: item[0])
    out = Landing()
    for index, (_at, code, start, end, one) in enumerate(parsed):
        later = [(s, e) for _a, c, s, e, _o in parsed[index + 1:] if c == code]

        def wins(day: date) -> bool:
            return start <= day <= end and not any(s <= day <= e for s, e in later)  # noqa: B023

        out.records.extend(r for r in one.records if wins(r.period_end))
        out.interventions.extend(i for i in one.interventions if wins(i[1]))
        if not later:
            for pupil, spans in one.enrolments.items():
                out.enrolments[pupil].extend(spans)
    return out


def _d(text: str) -> date:
    day, month, year = text.split(".")
    return date(int(year), int(month), int(day))


def _pupil(municipality: str, local: str, oid: str | None) -> str:
    return oid if oid else f"{municipality}:{local}"


def _csv(manifest: dict, folder: Path, out: Landing) -> None:
    code, encoding = manifest["municipality_code"], manifest.get("encoding", "utf-8")

    def rows(key: str):
        path = folder / manifest["files"][key]["path"]
        with path.open(encoding=encoding, newline="") as handle:
            yield from csv.DictReader(handle, delimiter=";")

    ids = {}
    for row in rows("students"):
        pupil = _pupil(code, row["oppilas_id"], row["oppijanumero"] or None)
        ids[row["oppilas_id"]] = pupil
        out.enrolments[pupil].append(
            (_d(row["alkaen"]), _d(row["paattyen"]) if row["paattyen"] else None))
    days = {}
    for row in rows("lessons"):
        days[(row["oppilas_id"], row["pvm"])] = Record(
            ids[row["oppilas_id"]], code, _d(row["pvm"]), Fraction(row["tunnit"].replace(",", ".")))
    latest: dict[tuple, tuple[datetime, int, str]] = {}
    for number, row in enumerate(rows("marks")):
        modified = datetime.strptime(row["muokattu"], "%d.%m.%Y %H:%M")
        key = (row["oppilas_id"], row["pvm"], row["tunti"])
        if key not in latest or (modified, number) > latest[key][:2]:
            latest[key] = (modified, number, row["merkinta"])
    for (local, day, _lesson), (_m, _n, mark) in latest.items():
        record = days[(local, day)]
        record.absent += mark in ABSENT
        record.late += mark in LATE
    out.records.extend(days.values())
    for row in rows("interventions"):
        out.interventions.append((ids[row["oppilas_id"]], _d(row["pvm"]),
                                  INTERVENTION_TYPE[row["toimenpide"]]))


def _jsonl(manifest: dict, folder: Path, out: Landing) -> None:
    code = manifest["municipality_code"]

    def rows(key: str):
        with (folder / manifest["files"][key]["path"]).open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)

    ids = {}
    for row in rows("students"):
        pupil = _pupil(code, row["student_ref"], row["learner_oid"])
        ids[row["student_ref"]] = pupil
        end = row["enrolled_to"]
        out.enrolments[pupil].append((date.fromisoformat(row["enrolled_from"]),
                                      date.fromisoformat(end) if end else None))
    for row in rows("attendance"):
        absences = row["absences"]
        out.records.append(Record(
            ids[row["student_ref"]], code, date.fromisoformat(row["date"]),
            Fraction(str(row["scheduled_lessons"])),
            sum((Fraction(str(v)) for k, v in absences.items() if k in ABSENT), Fraction(0)),
            sum((Fraction(str(v)) for k, v in absences.items() if k in LATE), Fraction(0))))
    for row in rows("interventions"):
        out.interventions.append((ids[row["student_ref"]], date.fromisoformat(row["date"]),
                                  INTERVENTION_TYPE[row["type"]]))


def _xlsx(manifest: dict, folder: Path, out: Landing) -> None:
    from openpyxl import load_workbook

    code = manifest["municipality_code"]
    book = load_workbook(folder / manifest["files"]["workbook"]["path"], read_only=True)

    def rows(sheet: str):
        values = book[sheet].iter_rows(values_only=True)
        header = [str(h) for h in next(values)]
        for row in values:
            if any(v is not None for v in row):
                yield dict(zip(header, row, strict=False))

    def as_date(value) -> date:
        return value.date() if isinstance(value, datetime) else value

    def hours(value) -> Fraction:
        return Fraction(str(value).replace(",", ".")) if value not in (None, "") else Fraction(0)

    for row in rows("Oppilaat"):
        pupil = _pupil(code, str(row["tunniste"]), None)
        out.enrolments[pupil].append(
            (as_date(row["alkaen"]), as_date(row["paattyen"]) if row["paattyen"] else None))
    for row in rows("Poissaolot"):
        sunday = date.fromisocalendar(int(row["vuosi"]), int(row["viikko"]), 7)
        out.records.append(Record(
            _pupil(code, str(row["tunniste"]), None), code, sunday, hours(row["pidetyt_tunnit"]),
            sum((hours(row[c]) for c in ("sairaus", "luvallinen", "luvaton", "selvittamaton")),
                Fraction(0)),
            hours(row["myohastymiset"]), weekly=True))
    for row in rows("Toimenpiteet"):
        out.interventions.append((_pupil(code, str(row["tunniste"]), None), as_date(row["pvm"]),
                                  INTERVENTION_TYPE[row["toimenpide"]]))
    book.close()


# -- metrics (DESIGN §7) ---------------------------------------------------------------------
def totals(records: list[Record]) -> tuple[int, Fraction, Fraction]:
    """(pupils with scheduled lessons, scheduled lessons, absent lessons)."""
    pupils = {r.pupil for r in records if r.scheduled > 0}
    return (len(pupils), sum((r.scheduled for r in records), Fraction(0)),
            sum((r.absent for r in records), Fraction(0)))


def tier(scheduled: Fraction, absent: Fraction) -> str:
    if scheduled < 20:
        return "pending"
    if absent * 100 >= 20 * scheduled:
        return "intensive"
    return "targeted" if absent * 100 >= 10 * scheduled else "universal"


def tiers_on(data: Landing, sunday: date) -> dict[str, int]:
    """Pupils per tier on a Sunday: enrolled at some point of that week, with records by then."""
    monday = sunday - timedelta(days=6)
    scheduled: dict[str, Fraction] = defaultdict(Fraction)
    absent: dict[str, Fraction] = defaultdict(Fraction)
    for r in data.records:
        if r.period_end <= sunday:
            scheduled[r.pupil] += r.scheduled
            absent[r.pupil] += r.absent
    counts = {"universal": 0, "targeted": 0, "intensive": 0, "pending": 0}
    for pupil in scheduled:
        if any(end is None or end >= monday for _start, end in data.enrolments[pupil]):
            counts[tier(scheduled[pupil], absent[pupil])] += 1
    return counts


def intervention_metrics(data: Landing) -> dict[str, dict]:
    """National crossing and response figures per term of the crossing date and `all`."""
    by_pupil: dict[str, list[Record]] = defaultdict(list)
    for r in data.records:
        by_pupil[r.pupil].append(r)
    interventions: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for pupil, day, kind in data.interventions:
        interventions[pupil].append((day, kind))

    def term(day: date) -> str:
        return "autumn" if day.month >= 8 else "spring"

    rows = {t: {"crossed_targeted": 0, "responded_targeted": 0, "lags": [], "changes": [],
                "crossed_intensive": 0, "responded_intensive": 0}
            for t in ("autumn", "spring", "all")}
    for pupil, records in by_pupil.items():
        daily: dict[date, list[Fraction]] = defaultdict(lambda: [Fraction(0), Fraction(0)])
        for r in records:
            daily[r.period_end][0] += r.scheduled
            daily[r.period_end][1] += r.absent
        crossing = {10: None, 20: None}
        scheduled = absent = Fraction(0)
        for day in sorted(daily):
            scheduled += daily[day][0]
            absent += daily[day][1]
            for pct in (10, 20):
                if crossing[pct] is None and scheduled >= 20 and absent * 100 >= pct * scheduled:
                    crossing[pct] = day
        if crossing[10] is not None:
            c = crossing[10]
            window = sorted(d for d, _k in interventions[pupil]
                            if c - timedelta(days=14) <= d <= c + timedelta(days=21))
            for t in (term(c), "all"):
                rows[t]["crossed_targeted"] += 1
            if window:
                first = window[0]
                change = _change(daily, first)
                for t in (term(c), "all"):
                    rows[t]["responded_targeted"] += 1
                    rows[t]["lags"].append(max(0, (first - c).days))
                    if change is not None:
                        rows[t]["changes"].append(change)
        if crossing[20] is not None:
            c = crossing[20]
            responded = any(c - timedelta(days=14) <= d <= c + timedelta(days=30)
                            for d, kind in interventions[pupil] if kind in INTENSIVE_RESPONSE)
            for t in (term(c), "all"):
                rows[t]["crossed_intensive"] += 1
                rows[t]["responded_intensive"] += responded
    for row in rows.values():
        row["median_response_lag_days"] = statistics.median(row["lags"]) if row["lags"] else None
        row["mean_rate_change_after_intervention"] = (
            float(sum(row["changes"]) / len(row["changes"])) if row["changes"] else None)
        row["students_in_change"] = len(row["changes"])
    return rows


def _change(daily: dict[date, list[Fraction]], t: date) -> Fraction | None:
    def rate(first: date, last: date) -> Fraction | None:
        s = sum((v[0] for d, v in daily.items() if first <= d <= last), Fraction(0))
        a = sum((v[1] for d, v in daily.items() if first <= d <= last), Fraction(0))
        return a / s if s >= 10 else None

    after = rate(t + timedelta(days=1), t + timedelta(days=28))
    before = rate(t - timedelta(days=28), t - timedelta(days=1))
    return None if after is None or before is None else after - before


# -- planning and evaluation (DESIGN §7.2) -----------------------------------------------------
# Each function returns {(municipality code, or None for the country, ...): {column: value}}
# for the national and municipality rows of its table. A pupil identified by a learner OID
# could in principle have records in two municipalities; in the generated samples none does,
# so a pupil's municipality on a date is that of their record.

NATIONAL = None


def _term(day: date) -> str:
    return "autumn" if day.month >= 8 else "spring"


def _school_year(day: date) -> str:
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}-{start + 1}"


@dataclass
class Pupil:
    """One pupil's records of one school year, day by day, with their crossings."""

    days: list[date]
    scheduled: list[Fraction]  # per day
    absent: list[Fraction]
    municipality: list[str]
    crossing: dict[int, date | None]  # 10 and 20 -> first date reached (>= 20 scheduled)


def pupils(data: Landing) -> dict[tuple[str, str], Pupil]:
    """(pupil, school year) -> the pupil's days, running totals and crossing dates."""
    daily: dict[tuple[str, str], dict[date, list]] = defaultdict(dict)
    for r in data.records:
        day = daily[(r.pupil, _school_year(r.period_end))].setdefault(
            r.period_end, [Fraction(0), Fraction(0), r.municipality])
        day[0] += r.scheduled
        day[1] += r.absent
        day[2] = max(day[2], r.municipality)
    out = {}
    for key, by_day in daily.items():
        days = sorted(by_day)
        crossing: dict[int, date | None] = {10: None, 20: None}
        scheduled = absent = Fraction(0)
        for day in days:
            scheduled += by_day[day][0]
            absent += by_day[day][1]
            for pct in (10, 20):
                if crossing[pct] is None and scheduled >= 20 and absent * 100 >= pct * scheduled:
                    crossing[pct] = day
        out[key] = Pupil(days, [by_day[d][0] for d in days], [by_day[d][1] for d in days],
                         [by_day[d][2] for d in days], crossing)
    return out


def _interventions(data: Landing) -> dict[str, list[tuple[date, str]]]:
    found: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for pupil, day, kind in data.interventions:
        found[pupil].append((day, kind))
    return {p: sorted(v) for p, v in found.items()}


def _places(municipality: str) -> tuple:
    return (NATIONAL, municipality)


def support_caseload(data: Landing) -> dict[tuple, dict[str, int]]:
    """Per (place, Sunday): pupils with a tier and those awaiting a response, `all` band.
    A pupil is in a Sunday's count with records of the school year by then and an enrolment
    not ended before that week's Monday, in the municipality of their latest record."""
    everyone = pupils(data)
    interventions = _interventions(data)
    last = max(r.period_end for r in data.records)
    first = min(r.period_end for r in data.records)
    sunday = first + timedelta(days=6 - first.weekday())
    out: dict[tuple, dict[str, int]] = {}
    columns = ("students_with_tier", "awaiting_targeted", "overdue_targeted",
               "awaiting_intensive", "overdue_intensive")
    while sunday <= last:
        monday = sunday - timedelta(days=6)
        for (pupil, year), p in everyone.items():
            if year != _school_year(sunday) or p.days[0] > sunday:
                continue
            if not any(end is None or end >= monday for _s, end in data.enrolments[pupil]):
                continue
            upto = [i for i, d in enumerate(p.days) if d <= sunday]
            state = tier(sum(p.scheduled[i] for i in upto), sum(p.absent[i] for i in upto))
            seen = {c: 0 for c in columns}
            seen["students_with_tier"] = state != "pending"
            c10, c20 = p.crossing[10], p.crossing[20]
            mine = interventions.get(pupil, [])
            if c10 is not None and c10 <= sunday and state in ("targeted", "intensive") and \
                    not any(c10 - timedelta(days=14) <= d <= sunday for d, _k in mine):
                seen["awaiting_targeted"] = 1
                seen["overdue_targeted"] = int(sunday > c10 + timedelta(days=21))
            if c20 is not None and c20 <= sunday and state == "intensive" and \
                    not any(c20 - timedelta(days=14) <= d <= sunday
                            for d, k in mine if k in INTENSIVE_RESPONSE):
                seen["awaiting_intensive"] = 1
                seen["overdue_intensive"] = int(sunday > c20 + timedelta(days=30))
            for place in _places(p.municipality[upto[-1]]):
                row = out.setdefault((place, sunday), {c: 0 for c in columns})
                for column in columns:
                    row[column] += int(seen[column])
        sunday += timedelta(days=7)
    return out


def local_threshold_crossings(data: Landing, ladders: dict[str, list[Fraction]]
                              ) -> dict[tuple, dict]:
    """Per (municipality, term, threshold): pupils whose year-to-date absent lessons reached
    the threshold (first date, where their record of that date is), those with any
    intervention in [c-14, c+21], and the median lag. Municipalities with a ladder only."""
    interventions = _interventions(data)
    rows: dict[tuple, dict] = {}
    for (pupil, _year), p in pupils(data).items():
        absent = Fraction(0)
        crossed: dict[Fraction, tuple[date, str]] = {}
        for day, missed, municipality in zip(p.days, p.absent, p.municipality, strict=True):
            absent += missed
            for threshold in ladders.get(municipality, []):
                for term in (_term(day), "all"):
                    rows.setdefault((municipality, term, threshold),
                                    {"crossed": 0, "responded": 0, "lags": []})
                if absent >= threshold and threshold not in crossed:
                    crossed[threshold] = (day, municipality)
        for threshold, (c, municipality) in crossed.items():
            answers = [d for d, _k in interventions.get(pupil, [])
                       if c - timedelta(days=14) <= d <= c + timedelta(days=21)]
            for term in (_term(c), "all"):
                row = rows[(municipality, term, threshold)]
                row["crossed"] += 1
                if answers:
                    row["responded"] += 1
                    row["lags"].append(max(0, (answers[0] - c).days))
    for row in rows.values():
        lags = row.pop("lags")
        row["timely_response_rate"] = row["responded"] / row["crossed"] if row["crossed"] \
            else None
        row["median_response_lag_days"] = statistics.median(lags) if lags else None
    return rows


def absence_by_weekday(data: Landing) -> dict[tuple, dict]:
    """Per (place, term, ISO weekday 1-5): pupils, scheduled and absent lessons of the
    one-day records (weekly records and weekend days left out); term `all` adds the terms."""
    rows: dict[tuple, dict] = {}
    pupils_seen: dict[tuple, set] = defaultdict(set)
    for r in data.records:
        weekday = r.period_end.isoweekday()
        if r.weekly or weekday > 5:
            continue
        for place in _places(r.municipality):
            for term in (_term(r.period_end), "all"):
                key = (place, term, weekday)
                row = rows.setdefault(key, {"scheduled_lessons": Fraction(0),
                                            "absent_lessons": Fraction(0)})
                row["scheduled_lessons"] += r.scheduled
                row["absent_lessons"] += r.absent
                if r.scheduled > 0:
                    pupils_seen[key].add(r.pupil)
    for key, row in rows.items():
        row["students"] = len(pupils_seen[key])
        row["absence_rate"] = (row["absent_lessons"] / row["scheduled_lessons"]
                               if row["scheduled_lessons"] else None)
    return rows


def absence_streaks(data: Landing) -> dict[tuple, dict[str, int]]:
    """Per (place, term): pupils with school days on one-day records, and pupils with a run
    of at least 3 / 10 consecutive school days (their days with scheduled lessons) absent
    for every lesson, counted in the term and municipality of the run's first day."""
    days: dict[str, dict[date, list]] = defaultdict(dict)
    students: dict[tuple, set] = defaultdict(set)
    for r in data.records:
        if r.weekly or r.scheduled <= 0:
            continue
        day = days[r.pupil].setdefault(r.period_end, [Fraction(0), Fraction(0), r.municipality])
        day[0] += r.scheduled
        day[1] += r.absent
        for place in _places(r.municipality):
            for term in (_term(r.period_end), "all"):
                students[(place, term)].add(r.pupil)
    streaks: dict[tuple, dict[int, set]] = defaultdict(lambda: {3: set(), 10: set()})
    for pupil, by_day in days.items():
        run: list[date] = []
        for day in [*sorted(by_day), None]:
            if day is not None and by_day[day][1] >= by_day[day][0]:
                run.append(day)
                continue
            if run:
                start = run[0]
                for place in _places(by_day[start][2]):
                    for term in (_term(start), "all"):
                        for length in (3, 10):
                            if len(run) >= length:
                                streaks[(place, term)][length].add(pupil)
            run = []
    return {key: {"students": len(found),
                  "students_streak_3_or_more": len(streaks[key][3]) if key in streaks else 0,
                  "students_streak_10_or_more": len(streaks[key][10]) if key in streaks else 0}
            for key, found in students.items()}


def intervention_effect(data: Landing) -> dict[tuple, dict]:
    """Per (place, first response type or `all`), places where pupils crossed 10 %: the
    responded pupils measured around their first intervention in [c-14, c+21], and the
    comparison group (no intervention there) around c + 7, both with the windows of §7."""
    interventions = _interventions(data)
    everyone = pupils(data)
    daily_by_pupil: dict[str, dict[date, list[Fraction]]] = defaultdict(
        lambda: defaultdict(lambda: [Fraction(0), Fraction(0)]))
    for r in data.records:
        daily_by_pupil[r.pupil][r.period_end][0] += r.scheduled
        daily_by_pupil[r.pupil][r.period_end][1] += r.absent
    treated: dict[tuple, list[tuple[Fraction, Fraction]]] = defaultdict(list)
    comparison: dict[object, list[Fraction]] = defaultdict(list)
    for (pupil, _year), p in everyone.items():
        c = p.crossing[10]
        if c is None:
            continue
        municipality = p.municipality[p.days.index(c)]
        answers = [(d, k) for d, k in interventions.get(pupil, [])
                   if c - timedelta(days=14) <= d <= c + timedelta(days=21)]
        t = answers[0][0] if answers else c + timedelta(days=7)
        windows = _windows(daily_by_pupil[pupil], t)
        for place in _places(municipality):
            if answers:
                treated.setdefault((place, "all"), [])
                treated.setdefault((place, answers[0][1]), [])
                if windows is not None:
                    treated[(place, "all")].append(windows)
                    treated[(place, answers[0][1])].append(windows)
            else:
                treated.setdefault((place, "all"), [])
                if windows is not None:
                    comparison[place].append(windows[1] - windows[0])
    rows = {}
    for (place, kind), measured in treated.items():
        compared = comparison.get(place, [])
        row = {"students_in_change": len(measured),
               "mean_rate_before": _mean([b for b, _a in measured]),
               "mean_rate_after": _mean([a for _b, a in measured]),
               "mean_change": _mean([a - b for b, a in measured]),
               "comparison_students": len(compared),
               "comparison_mean_change": _mean(compared)}
        row["difference"] = (None if row["mean_change"] is None
                             or row["comparison_mean_change"] is None
                             else row["mean_change"] - row["comparison_mean_change"])
        rows[(place, kind)] = row
    return rows


def _windows(daily: dict[date, list[Fraction]], t: date) -> tuple[Fraction, Fraction] | None:
    """(rate over [t-28, t-1], rate over [t+1, t+28]), or None unless both hold 10 lessons."""
    def rate(first: date, last: date) -> Fraction | None:
        s = sum((v[0] for d, v in daily.items() if first <= d <= last), Fraction(0))
        a = sum((v[1] for d, v in daily.items() if first <= d <= last), Fraction(0))
        return a / s if s >= 10 else None

    before = rate(t - timedelta(days=28), t - timedelta(days=1))
    after = rate(t + timedelta(days=1), t + timedelta(days=28))
    return None if before is None or after is None else (before, after)


def _mean(values: list[Fraction]) -> Fraction | None:
    return sum(values, Fraction(0)) / len(values) if values else None
