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
            hours(row["myohastymiset"])))
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
