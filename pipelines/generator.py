"""Synthetic, deterministic-by-seed municipality drops following DESIGN §3 and §4.1-4.3.

The generator is a simulation (`simulate_municipality`) plus one writer per source profile
(`write_drop`), so the same simulated pupils and days can be written as lesson markings,
daily summaries or weekly totals. `generate` is the `absence generate` entry point.

The model, stated approximately (it is a model, not statistics):

- Calendar: Monday-Friday minus the weekday public holidays of
  `seeds/reference/fi_holidays_2024_2029.csv` (computed for other years), the autumn
  break (the municipality's `syysloma` in `school_holidays_sample_2025_2027.csv`, else ISO
  week 42), Christmas (Monday of the week of 22 Dec - 6 Jan), the winter break (`hiihtoloma`
  from the sample, else ISO week 9) and summer (from the first Saturday on or after 29 May to
  the first weekday on or after 10 Aug). Easter is Good Friday and Easter Monday.
- Size: Finland has about 560,000 pupils in grades 1-9. The ~60 largest municipalities get
  hand-set approximate counts (Helsinki 52,000 ≈ 9.3 %, Espoo 35,000, Vantaa 26,000, Oulu
  24,000, Tampere 21,500, Turku 15,500, Jyväskylä 14,500, Kuopio 11,500, Lahti 10,500 ...);
  the remainder is spread over the other municipalities with fixed lognormal weights, so most
  of them have 50-500 pupils at scale 1. `pupil_count(code, scale)` = round(scale × 560,000 ×
  share), at least 1. Without a scale a demo size of 150-900 pupils grows with the share.
- Schools: one per ~350 pupils; from three schools up a third are grade 7-9 schools and the
  rest grade 1-6 schools, otherwise all teach grades 1-9. Codes are 5-digit text (leading
  zeros possible), unique within the municipality. Grades are about equal in size; classes
  hold ~22 pupils (`7B`).
- Lessons: grades 1-2 have 4-5 lessons a day, 3-6 have 5-6 and 7-9 have 6-7, by a fixed
  weekday pattern per school and grade.
- Absence: a per-pupil propensity mixture (84 % lognormal around 3.5 % of lessons, 12 %
  around 9 %, 4 % uniform 17-40 %) scaled by grade (7-9 × 1.35), weekday (Monday and Friday
  high) and season (November-March high). About 70 % of absent lessons come from whole days,
  the rest from blocks of 1-3 lessons. Reasons: mostly illness, then authorised, unexplained,
  unauthorised; high-propensity pupils have more unauthorised and unexplained absence. About
  5 % of pupils a year have an illness spell of 4-25 consecutive school days. Late arrivals
  (M) are ~1-2 % of lessons, school business (K) is rare.
- Corrections: ~15 % of explained absence events were first marked `SE` and explained 1-6
  days later, some via an intermediate code, and ~1 % of markings were corrected to another
  code; every version is written, the latest `muokattu` is the truth.
- Interventions: ~70 % of pupils whose year-to-date rate first reaches 10 % (with ≥ 20
  lessons) get a targeted-tier intervention from 7 days before to 30 days after; ~60 % of
  20 % crossings get an attendance plan or a multi-professional group within 40 days;
  ~3 % of other pupils a year get a background intervention.
- Learner OIDs for ~85 % of pupils; fake names, valid-looking identity codes and addresses
  appear only in columns outside the contract, which the pipeline must drop.
- Simplification: a simulation spanning a summer keeps every pupil in the same grade.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import math
import os
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl import Workbook
from openpyxl.packaging.core import DocumentProperties
from openpyxl.xml.functions import tostring

HELSINKI = ZoneInfo("Europe/Helsinki")
FINLAND_PUPILS = 560_000
PROFILES = ("lesson_marks_csv", "daily_summary_jsonl", "weekly_totals_xlsx")
EXCEL_MAX_DATA_ROWS = 1_048_575

# Category index = position; the same order in every profile's vocabulary.
CATEGORIES = ("illness", "authorised", "unauthorised", "unexplained", "late", "school_business")
MARK_CODES = ("S", "L", "LV", "SE", "M", "K")
JSONL_CODES = ("ILLNESS", "AUTHORISED", "UNAUTHORISED", "UNEXPLAINED", "LATE", "SCHOOL_BUSINESS")
XLSX_COLUMNS = ("sairaus", "luvallinen", "luvaton", "selvittamaton", "myohastymiset")
ABSENT_CATEGORIES = 4  # categories 0..3 count as absence
LATE, SCHOOL_BUSINESS = 4, 5

# (type, Finnish name, tier, csv code, jsonl type), DESIGN §6.2.
INTERVENTION_TYPES = (
    ("concern_raised", "Huolen puheeksi ottaminen", "targeted", "HUOLI", "guardian_contact"),
    (
        "background_investigation",
        "Taustasyiden selvittäminen",
        "targeted",
        "TAUSTA",
        "background_assessment",
    ),
    (
        "targeted_work",
        "Kohdennettu työskentely yksilöllisesti tai ryhmässä",
        "targeted",
        "KOHD",
        "targeted_work",
    ),
    (
        "learning_difficulty_assessment",
        "Oppimisvaikeuksien selvittäminen",
        "targeted",
        "OPVAIK",
        "learning_assessment",
    ),
    (
        "support_level_review",
        "Pedagogisen tuen tason tarkastaminen",
        "targeted",
        "TUKITASO",
        "support_review",
    ),
    (
        "intensified_learning_support",
        "Tehostetut oppimisen tukitoimet",
        "targeted",
        "TEHOST",
        "intensified_support",
    ),
    ("service_guidance", "Palveluohjaus", "targeted", "PALVELU", "service_referral"),
    ("consultation", "Konsultaatio", "targeted", "KONS", "consultation"),
    (
        "individual_attendance_plan",
        "Yksilöllinen suunnitelma läsnäolon tukemiseksi",
        "intensive",
        "SUUNN",
        "attendance_plan",
    ),
    (
        "multi_professional_group",
        "Monialainen asiantuntijaryhmä",
        "intensive",
        "MONIAL",
        "multi_professional_group",
    ),
    (
        "flexible_arrangements",
        "Joustavat opetusjärjestelyt",
        "intensive",
        "JOUSTO",
        "flexible_arrangements",
    ),
    (
        "special_pedagogical_arrangements",
        "Pedagogiset erityisjärjestelyt",
        "intensive",
        "ERITYIS",
        "special_arrangements",
    ),
    ("school_coach", "Kouluvalmentajan työskentely", "targeted", "VALMENT", "school_coach"),
)
_IV = {row[0]: i for i, row in enumerate(INTERVENTION_TYPES)}

ROLES = (
    "opettaja",
    "kuraattori",
    "terveydenhoitaja",
    "rehtori",
    "psykologi",
    "erityisopettaja",
    "kouluvalmentaja",
)
# Who usually records each intervention type; rows follow INTERVENTION_TYPES, columns ROLES.
_ROLE_WEIGHTS = np.array(
    [
        [70, 15, 5, 10, 0, 0, 0],
        [0, 50, 20, 0, 30, 0, 0],
        [20, 60, 0, 0, 20, 0, 0],
        [0, 0, 0, 0, 40, 60, 0],
        [30, 0, 0, 20, 0, 50, 0],
        [30, 0, 0, 0, 0, 70, 0],
        [0, 60, 40, 0, 0, 0, 0],
        [0, 40, 20, 0, 40, 0, 0],
        [40, 40, 0, 20, 0, 0, 0],
        [0, 50, 0, 30, 20, 0, 0],
        [0, 0, 0, 60, 0, 40, 0],
        [0, 0, 0, 50, 0, 50, 0],
        [20, 30, 0, 0, 0, 0, 50],
    ],
    dtype=float,
)

# Approximate grade 1-9 pupils of the larger municipalities (model inputs, not statistics).
_LARGE_MUNICIPALITY_PUPILS = {
    "091": 52_000, "049": 35_000, "092": 26_000, "564": 24_000, "837": 21_500,
    "853": 15_500, "179": 14_500, "297": 11_500, "398": 10_500, "743": 7_500,
    "609": 7_000, "167": 7_000, "286": 6_500, "405": 6_500, "109": 6_500,
    "905": 6_500, "698": 6_500, "543": 6_500, "272": 5_800, "638": 5_500,
    "186": 5_500, "257": 5_500, "734": 5_000, "106": 5_000, "444": 5_000,
    "858": 5_000, "491": 4_500, "285": 4_500, "980": 4_300, "245": 4_200,
    "202": 4_200, "211": 4_000, "536": 4_000, "684": 3_600, "244": 3_400,
    "205": 3_300, "927": 3_300, "418": 3_300, "753": 3_000, "694": 2_800,
    "604": 2_800, "678": 2_700, "740": 2_600, "749": 2_600, "505": 2_500,
    "680": 2_300, "851": 2_300, "098": 2_200, "423": 2_200, "140": 2_100,
    "153": 2_000, "182": 1_900, "908": 1_900, "790": 2_000, "915": 1_800,
    "410": 2_300, "425": 2_100, "305": 1_300, "240": 1_600, "977": 1_800,
}  # fmt: skip

_SURNAMES = (
    "Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine",
    "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Saarinen", "Salminen", "Heinonen",
    "Niemi", "Heikkilä", "Kinnunen", "Salonen", "Turunen", "Äijälä", "Öhman", "Åström",
    "Ärölä", "Östman", "Söderström", "Mäntylä", "Pääkkönen", "Kärkkäinen", "Häkkinen",
    "Väisänen", "Räsänen", "Ylönen", "Björklund", "Lindström", "Hyvönen", "Määttä",
    "Jääskeläinen", "Törmänen", "Kähkönen", "Nyström",
)  # fmt: skip
_FIRST_NAMES_MALE = (
    "Eino", "Väinö", "Onni", "Leo", "Elias", "Oliver", "Niilo", "Aapo", "Veeti", "Eetu",
    "Mikael", "Johannes", "Toivo", "Lenni", "Ville", "Jöns", "Åke", "Rasmus", "Mårten",
    "Henrik",
)  # fmt: skip
_FIRST_NAMES_FEMALE = (
    "Aino", "Eevi", "Helmi", "Sofia", "Olivia", "Isla", "Ella", "Linnea", "Siiri", "Venla",
    "Pihla", "Lumi", "Kerttu", "Iida", "Säde", "Ylvä", "Märta", "Åsa", "Ronja", "Hilla",
)  # fmt: skip
_STREETS = (
    "Koivukuja", "Mäntytie", "Rantakatu", "Kirkkotie", "Pääskysentie", "Sääksentie",
    "Myllärintie", "Kalliolanrinne", "Ämmäläntie", "Hämeenkatu", "Åkerlundinkatu",
    "Östersundomintie", "Peltolantie", "Kärkikuja",
)  # fmt: skip
_NOTES = (
    "Huoltajaan oltu yhteydessä puhelimitse.",
    "Tapaaminen huoltajan kanssa; sovittu seurannasta.",
    "Poissaoloja kertynyt; asia käsitelty oppilashuoltoryhmässä.",
    "Oppilas kertoo väsymyksestä ja päänsärystä.",
    "Yhteistyö kuraattorin kanssa jatkuu; seuraava palaveri kahden viikon päästä.",
    "Sovittu säännöllisistä tapaamisista terveydenhoitajan kanssa.",
    "Läsnäolon tukisuunnitelma laadittu yhdessä huoltajan kanssa.",
    "Ohjattu perheneuvolaan; huoltaja suostui.",
    "Käsitelty monialaisessa ryhmässä, paikalla: rehtori; kuraattori; psykologi.",
    "Äidin kanssa sovittu viikoittaisesta yhteydenpidosta.",
    "",
)
_IDENTITY_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_LOCAL_ID_PREFIX = {"lesson_marks_csv": "OP", "daily_summary_jsonl": "S", "weekly_totals_xlsx": "T"}
_FILE_NAMES = {
    "lesson_marks_csv": {
        "students": "oppilaat.csv",
        "lessons": "tunnit.csv",
        "marks": "merkinnat.csv",
        "interventions": "toimenpiteet.csv",
    },
    "daily_summary_jsonl": {
        "students": "students.jsonl",
        "attendance": "attendance.jsonl",
        "interventions": "interventions.jsonl",
    },
    "weekly_totals_xlsx": {"workbook": "poissaolot_viikoittain.xlsx"},
}
_CHUNK_ROWS = 1_000_000
_EPOCH = date(1970, 1, 1)
_LARGE = pa.large_string()
Rng = np.random.Generator


# --- reference data


def _reference_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "reference"


@dataclass(frozen=True)
class Municipality:
    """A municipality of the 2026 division with its region (maakunta)."""

    code: str
    name: str
    region_code: str


@cache
def municipalities() -> tuple[Municipality, ...]:
    """All municipalities of `kunnat_2026.csv`, codes kept as 3-digit text."""
    with open(_reference_dir() / "kunnat_2026.csv", encoding="utf-8", newline="") as f:
        return tuple(
            Municipality(row["kunta_code"].zfill(3), row["kunta_name_fi"], row["maakunta_code"])
            for row in csv.DictReader(f)
        )


@cache
def _municipality_index() -> dict[str, Municipality]:
    return {m.code: m for m in municipalities()}


def _normalise_code(code: str | int) -> str:
    text = str(code).strip().zfill(3)
    if text not in _municipality_index():
        raise ValueError(f"unknown municipality code {code!r}")
    return text


@cache
def _listed_holidays() -> dict[int, frozenset[date]]:
    """Public holidays per year from the seed file (only the years it covers)."""
    by_year: dict[int, set[date]] = {}
    with open(_reference_dir() / "fi_holidays_2024_2029.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            day = date.fromisoformat(row["date"])
            by_year.setdefault(day.year, set()).add(day)
    return {year: frozenset(days) for year, days in by_year.items()}


def _easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _computed_holidays(year: int) -> frozenset[date]:
    """Weekday-relevant Finnish public holidays for years the seed file does not cover."""
    easter = _easter(year)
    fixed = [(1, 1), (1, 6), (5, 1), (12, 6), (12, 24), (12, 25), (12, 26)]
    days = {date(year, m, d) for m, d in fixed}
    days |= {easter - timedelta(days=2), easter + timedelta(days=1), easter + timedelta(39)}
    return frozenset(days)


def holidays(year: int) -> frozenset[date]:
    """Public holidays of a year: the seed file where it covers the year, else computed."""
    return _listed_holidays().get(year) or _computed_holidays(year)


@cache
def _sample_breaks() -> dict[tuple[str, str, int], tuple[date, date]]:
    """Per (municipality, holiday type, year) the break from the sample, basic education first."""
    breaks: dict[tuple[str, str, int], tuple[date, date]] = {}
    path = _reference_dir() / "school_holidays_sample_2025_2027.csv"
    with open(path, encoding="utf-8") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: "perusopetus" not in r["school_level"])
    for row in rows:
        key = (row["kunta_code"].zfill(3), row["holiday_type"], int(row["year"]))
        span = (date.fromisoformat(row["start_date"]), date.fromisoformat(row["end_date"]))
        breaks.setdefault(key, span)
    return breaks


def _iso_week_span(year: int, week: int) -> tuple[date, date]:
    monday = date.fromisocalendar(year, week, 1)
    return monday, monday + timedelta(days=6)


def _school_year_start(year: int) -> date:
    day = date(year, 8, 10)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _summer_start(year: int) -> date:
    day = date(year, 5, 29)
    return day + timedelta(days=(5 - day.weekday()) % 7)


def _christmas_start(year: int) -> date:
    day = date(year, 12, 22)
    return day - timedelta(days=day.weekday()) if day.weekday() < 5 else day


@cache
def _breaks(code: str, year: int) -> tuple[tuple[date, date], ...]:
    """School breaks that fall in a calendar year for one municipality."""
    sample = _sample_breaks()
    autumn = sample.get((code, "syysloma", year)) or _iso_week_span(year, 42)
    winter = sample.get((code, "hiihtoloma", year)) or _iso_week_span(year, 9)
    return (
        (date(year, 1, 1), date(year, 1, 6)),
        winter,
        (_summer_start(year), _school_year_start(year) - timedelta(days=1)),
        autumn,
        (_christmas_start(year), date(year, 12, 31)),
    )


def is_school_day(day: date, municipality_code: str) -> bool:
    """Whether pupils of the municipality have lessons on the day."""
    if day.weekday() >= 5 or day in holidays(day.year):
        return False
    return not any(lo <= day <= hi for lo, hi in _breaks(municipality_code, day.year))


@cache
def _calendar(code: str, start: date, school_days: int) -> tuple[date, ...]:
    days: list[date] = []
    day = start
    while len(days) < school_days:
        if is_school_day(day, code):
            days.append(day)
        day += timedelta(days=1)
    return tuple(days)


def school_calendar(municipality_code: str, start: date, school_days: int) -> list[date]:
    """The first `school_days` school days of the municipality from `start` onwards."""
    if school_days < 1:
        raise ValueError("school_days must be at least 1")
    return list(_calendar(_normalise_code(municipality_code), start, school_days))


# --- size model


@cache
def _pupil_shares() -> dict[str, float]:
    codes = [m.code for m in municipalities()]
    fixed = {c: float(n) for c, n in _LARGE_MUNICIPALITY_PUPILS.items() if c in codes}
    rest = [c for c in codes if c not in fixed]
    # A fixed generator: the size model must not change with the run's seed.
    weights = np.random.default_rng(20260308).lognormal(0.0, 0.95, len(rest))
    remaining = FINLAND_PUPILS - sum(fixed.values())
    sizes = dict(fixed) | dict(zip(rest, weights / weights.sum() * remaining, strict=True))
    return {c: n / FINLAND_PUPILS for c, n in sizes.items()}


def pupil_count(code: str, scale: float | None = None) -> int:
    """Pupils simulated for a municipality: scale × its share of Finland, or a demo size."""
    shares = _pupil_shares()
    share = shares[_normalise_code(code)]
    if scale is not None:
        return max(1, round(scale * FINLAND_PUPILS * share))
    biggest = max(shares.values())
    jitter = 0.9 + 0.2 * ((int(code) * 7919) % 101) / 100
    return int(np.clip(round((150 + 750 * math.sqrt(share / biggest)) * jitter), 150, 900))


# --- simulation


@dataclass(frozen=True)
class Pupils:
    """Pupil attributes; element i of every array belongs to pupil i."""

    local_number: np.ndarray  # int64, unique within the simulation; writers add a prefix
    learner_oid: np.ndarray  # object: str or None
    school_code: np.ndarray  # str, 5 digits
    grade: np.ndarray  # int8, 1-9
    class_letter: np.ndarray  # str
    enrolled_from: np.ndarray  # datetime64[D]
    enrolled_to: np.ndarray  # datetime64[D], NaT = ongoing
    surname: np.ndarray  # str; extra column only
    first_name: np.ndarray  # str; extra column only
    identity_code: np.ndarray  # str; extra column only
    guardian_identity_code: np.ndarray  # str; extra column only
    address: np.ndarray  # str; extra column only

    def __len__(self) -> int:
        return len(self.local_number)


@dataclass(frozen=True)
class PupilDays:
    """Scheduled lessons per enrolled pupil and school day, sorted by pupil then day."""

    pupil: np.ndarray  # int32 index into Pupils
    day: np.ndarray  # int16 index into Simulation.days
    lessons: np.ndarray  # int8

    def __len__(self) -> int:
        return len(self.pupil)


@dataclass(frozen=True)
class Marks:
    """Every version of every lesson marking; `final` flags the latest version of a lesson."""

    pupil_day: np.ndarray  # int64 index into PupilDays
    lesson: np.ndarray  # int8, 1-12
    code: np.ndarray  # int8 index into MARK_CODES / CATEGORIES
    modified: np.ndarray  # datetime64[m], Helsinki wall-clock time
    final: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.lesson)


@dataclass(frozen=True)
class Interventions:
    """Interventions recorded for pupils, in the harmonised vocabulary."""

    pupil: np.ndarray  # int32 index into Pupils
    date: np.ndarray  # datetime64[D]
    type: np.ndarray  # int8 index into INTERVENTION_TYPES
    role: np.ndarray  # int8 index into ROLES, -1 = not recorded
    note: np.ndarray  # object: free text ("" = none)

    def __len__(self) -> int:
        return len(self.pupil)


@dataclass(frozen=True)
class Simulation:
    """One municipality's simulated pupils, school days, markings and interventions."""

    municipality_code: str
    seed: int
    days: np.ndarray  # datetime64[D], ascending school days
    pupils: Pupils
    pupil_days: PupilDays
    marks: Marks
    interventions: Interventions

    def local_ids(self, profile: str) -> np.ndarray:
        """The pupils' local identifiers as the given profile's source system writes them."""
        prefix = _LOCAL_ID_PREFIX[profile]
        return np.array([f"{prefix}{n}" for n in self.pupils.local_number.tolist()], dtype=object)

    def counts(self, as_of: datetime | None = None) -> np.ndarray:
        """Lessons per pupil-day and category (columns follow CATEGORIES) as of a time."""
        return pupil_day_counts(self, _local_minute(as_of) if as_of else None)


def _eday(value: date) -> int:
    return (value - _EPOCH).days


def _to_date(eday: int) -> date:
    return _EPOCH + timedelta(days=int(eday))


def _local_minute(moment: datetime) -> int:
    """Minutes since 1970 on the Helsinki wall clock (naive datetimes are Helsinki time)."""
    local = moment.astimezone(HELSINKI) if moment.tzinfo else moment
    return _eday(local.date()) * 1440 + local.hour * 60 + local.minute


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given sizes: the group of every element and its offset in the group."""
    counts = counts.astype(np.int64)
    group = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return group, np.arange(counts.sum()) - np.repeat(starts, counts)


def _pick(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """Draw one category per row from rows of cumulative probabilities."""
    u = rng.random(cumulative.shape[0])
    return (u[:, None] > cumulative).sum(axis=1)


def _school_codes(code: str, schools: int) -> list[str]:
    # 7919 is coprime with 99999, so codes are distinct within the municipality.
    base = int(code) * 1000 * 7919
    return [f"{1 + (base + i * 7919) % 99999:05d}" for i in range(schools)]


def identity_code(birth: date, individual: int, sign: str | None = None) -> str:
    """A valid Finnish personal identity code (henkilötunnus) with check character."""
    if sign is None:
        sign = {18: "+", 19: "-", 20: "A"}[birth.year // 100]
    head = f"{birth:%d%m%y}"
    return f"{head}{sign}{individual:03d}{_IDENTITY_CHECK[int(f'{head}{individual:03d}') % 31]}"


def _learner_oids(code: str, seed: int, count: int) -> list[str]:
    """Distinct-looking learner OIDs; an affine bijection keeps them unique per municipality."""
    offset = (seed * 1_000_003) % 9_000_000_000
    oids = []
    for i in range(count):
        body = 1_000_000_000 + ((int(code) * 1_000_000 + i) * 7919 + offset) % 9_000_000_000
        digits = f"{body:010d}"
        check = sum(int(d) * (7, 3, 1)[k % 3] for k, d in enumerate(reversed(digits))) % 10
        oids.append(f"1.2.246.562.24.{digits}{check}")
    return oids


def _assign_schools(code: str, grade: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """School code per pupil: grade 7-9 pupils in upper schools once there are three or more."""
    n_schools = max(1, round(len(grade) / 350))
    codes = np.array(_school_codes(code, n_schools))
    size_weight = rng.uniform(0.5, 1.5, n_schools)
    upper = np.zeros(n_schools, dtype=bool)
    if n_schools >= 3:
        upper[: max(1, round(n_schools / 3))] = True
    school = np.empty(len(grade), dtype=np.int64)
    for band, serves in ((grade >= 7, upper), (grade < 7, ~upper)):
        candidates = np.flatnonzero(serves) if n_schools >= 3 else np.arange(n_schools)
        p = size_weight[candidates] / size_weight[candidates].sum()
        school[band] = rng.choice(candidates, band.sum(), p=p)
    return codes[school]


def _class_letters(school: np.ndarray, grade: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Classes of about 22 pupils in each school and grade (A, B, C ...)."""
    n = len(grade)
    order = np.lexsort((rng.random(n), grade, school))
    key = np.char.add(school[order].astype(str), grade[order].astype(str))
    first = np.r_[True, key[1:] != key[:-1]]
    rank = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    letter = np.empty(n, dtype="<U1")
    letter[order] = np.array(list("ABCDEFGHIJKLMNOP"))[np.minimum(rank // 22, 15)]
    return letter


def _enrolments(n: int, days: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Enrolment dates: most from the school year's first day, a few join late or leave early."""
    first_day = days[0].item()
    year_start = _school_year_start(first_day.year if first_day.month >= 8 else first_day.year - 1)
    enrolled_from = np.full(n, np.datetime64(min(year_start, first_day), "D"))
    enrolled_to = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    if len(days) > 1:
        u = rng.random(n)
        joiners, leavers = u < 0.05, (u >= 0.05) & (u < 0.08)
        enrolled_from[joiners] = days[rng.integers(1, len(days), joiners.sum())]
        enrolled_to[leavers] = days[rng.integers(0, len(days) - 1, leavers.sum())]
    return enrolled_from, enrolled_to


def _identity_codes(
    birth_year: np.ndarray, male: np.ndarray, signs: str, rng: np.random.Generator
) -> np.ndarray:
    """Valid identity codes for random birthdays; a tenth use the 2023 alternative signs."""
    n = len(birth_year)
    birth_offset = rng.integers(0, 365, n)
    individual = rng.integers(1, 450, n) * 2 + male  # odd for men, even for women: 002-899
    alternative = np.array(list(signs[1:]))[rng.integers(0, len(signs) - 1, n)]
    sign = np.where(rng.random(n) < 0.1, alternative, signs[0])
    return np.array(
        [
            identity_code(date(int(y), 1, 1) + timedelta(days=int(o)), int(i), str(s))
            for y, o, i, s in zip(birth_year, birth_offset, individual, sign, strict=True)
        ]
    )


def _fake_people(
    code: str, grade: np.ndarray, school_year: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Names, identity codes and addresses for the columns the pipeline must drop."""
    n = len(grade)
    male = rng.random(n) < 0.5
    first_name = np.where(
        male,
        np.array(_FIRST_NAMES_MALE)[rng.integers(0, len(_FIRST_NAMES_MALE), n)],
        np.array(_FIRST_NAMES_FEMALE)[rng.integers(0, len(_FIRST_NAMES_FEMALE), n)],
    )
    # Grade 1 starts in the autumn of the year a child turns seven; a few are a year off.
    birth_year = (
        school_year - 6 - grade.astype(int) + rng.choice([-1, 0, 1], n, p=[0.03, 0.95, 0.02])
    )
    guardian_birth_year = rng.integers(1972, 1996, n)
    town = _municipality_index()[code].name
    street = np.array(_STREETS)[rng.integers(0, len(_STREETS), n)]
    house, postcode = rng.integers(1, 80, n), rng.integers(100, 99_999, n)
    return {
        "surname": np.array(_SURNAMES)[rng.integers(0, len(_SURNAMES), n)],
        "first_name": first_name,
        "identity_code": _identity_codes(birth_year, male, "ABCDEF", rng),
        "guardian_identity_code": _identity_codes(
            guardian_birth_year, rng.random(n) < 0.5, "-YXWVU", rng
        ),
        "address": np.array(
            [f"{s} {h}, {p:05d} {town}" for s, h, p in zip(street, house, postcode, strict=True)]
        ),
    }


def _simulate_pupils(
    code: str, n: int, days: np.ndarray, seed: int, rng: np.random.Generator
) -> Pupils:
    """Pupils with grades, schools, classes, learner OIDs, enrolments and fake identities."""
    grade_p = np.clip(1 + rng.normal(0, 0.05, 9), 0.8, 1.2)
    grade = rng.choice(np.arange(1, 10), n, p=grade_p / grade_p.sum()).astype(np.int8)
    school_code = _assign_schools(code, grade, rng)
    letter = _class_letters(school_code, grade, rng)
    numbers = rng.choice(9_000_000, n, replace=False) + 1_000_000
    has_oid = rng.random(n) < 0.85
    oids = _learner_oids(code, seed, n)
    learner_oid = np.array([o if h else None for o, h in zip(oids, has_oid, strict=True)])
    enrolled_from, enrolled_to = _enrolments(n, days, rng)
    school_year = enrolled_from.min().item().year
    return Pupils(
        local_number=numbers.astype(np.int64),
        learner_oid=learner_oid,
        school_code=school_code,
        grade=grade,
        class_letter=letter,
        enrolled_from=enrolled_from,
        enrolled_to=enrolled_to,
        **_fake_people(code, grade, school_year, rng),
    )


def _propensity(n: int, rng: np.random.Generator) -> np.ndarray:
    """Per-pupil share of lessons missed: most 2-6 %, a tail past 10 % and 20 %."""
    u = rng.random(n)
    base = rng.lognormal(math.log(0.035), 0.55, n)
    moderate = rng.lognormal(math.log(0.09), 0.3, n)
    high = rng.uniform(0.17, 0.40, n)
    return np.where(u < 0.84, base, np.where(u < 0.96, moderate, high))


_WEEKDAY_FACTOR = np.array([1.15, 0.95, 0.9, 0.95, 1.2, 1.0, 1.0])
_MONTH_FACTOR = np.array([1.3, 1.35, 1.2, 0.95, 0.85, 0.8, 0.8, 0.7, 0.85, 0.95, 1.2, 1.25])
# Cumulative reason probabilities over S, L, LV, SE: [whole day, partial] × [typical, high].
_REASONS = np.cumsum(
    np.array(
        [
            [[0.74, 0.17, 0.03, 0.06], [0.55, 0.15, 0.12, 0.18]],
            [[0.35, 0.30, 0.17, 0.18], [0.20, 0.20, 0.35, 0.25]],
        ]
    ),
    axis=-1,
)


@dataclass
class _Events:
    """Absence and presence events on the dense pupil × day grid, before expansion to lessons."""

    pupil_day: np.ndarray
    first_lesson: np.ndarray
    length: np.ndarray
    code: np.ndarray
    minute: np.ndarray  # marking time of day; -1 = at each lesson's own time


@dataclass(frozen=True)
class _Grid:
    """The dense pupil × school day grid the absence model draws on."""

    lessons: np.ndarray  # int8 (pupils, days)
    pd_index: np.ndarray  # int64 (pupils, days): row in PupilDays, -1 = not enrolled
    rate: np.ndarray  # float32 (pupils, days): expected share of lessons missed
    high: np.ndarray  # bool (pupils,): high-propensity pupil
    day_factor: np.ndarray  # float32 (days,)

    @property
    def enrolled(self) -> np.ndarray:
        return self.pd_index >= 0


def _absence_grid(
    pupils: Pupils, days: np.ndarray, lessons: np.ndarray, pd_index: np.ndarray, rng: Rng
) -> _Grid:
    eday = days.astype(np.int64)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    day_factor = (_WEEKDAY_FACTOR[(eday + 3) % 7] * _MONTH_FACTOR[month]).astype(np.float32)
    grade = pupils.grade.astype(np.int64)
    grade_factor = np.where(grade >= 7, 1.35, np.where(grade <= 2, 1.0, 0.85))
    r = _propensity(len(grade), rng)
    rate = np.minimum((r * grade_factor).astype(np.float32)[:, None] * day_factor[None, :], 0.9)
    return _Grid(lessons, pd_index, rate, r > 0.12, day_factor)


def _illness_spells(grid: _Grid, rng: np.random.Generator) -> np.ndarray:
    """Days inside long illness spells (4-25 school days, about 5 % of pupils a year)."""
    n, d = grid.lessons.shape
    spell = np.zeros((n, d), dtype=bool)
    count = rng.poisson(0.05 * n * d / 190)
    starts = rng.choice(d, count, p=grid.day_factor / grid.day_factor.sum())
    lengths = np.minimum(3 + rng.geometric(0.2, count), 25)
    for p, s, length in zip(rng.integers(0, n, count), starts, lengths, strict=True):
        spell[p, s : s + length] = True
    return spell & grid.enrolled


def _whole_day_events(grid: _Grid, whole: np.ndarray, spell: np.ndarray, rng: Rng) -> _Events:
    p, q = np.nonzero(whole)
    code = np.where(spell[p, q], 0, _pick_reason(rng, _REASONS[0][grid.high[p].astype(int)]))
    # Guardians report illness and authorised days in the morning, for all lessons at once.
    morning = rng.integers(7 * 60, 8 * 60 + 30, len(p))
    lessons = grid.lessons[p, q].astype(np.int64)
    first = np.ones(len(p), np.int64)
    return _Events(grid.pd_index[p, q], first, lessons, code, np.where(code <= 1, morning, -1))


def _partial_events(grid: _Grid, partial: np.ndarray, rng: Rng) -> _Events:
    """Blocks of 1-3 lessons: at the start of the day, at its end, or anywhere."""
    p, q = np.nonzero(partial)
    day_lessons = grid.lessons[p, q].astype(np.int64)
    length = rng.choice([1, 2, 3], len(p), p=[0.45, 0.35, 0.2])
    length = np.maximum(np.minimum(length, day_lessons - 1), 1)
    mode = rng.random(len(p))
    anywhere = 1 + (rng.random(len(p)) * (day_lessons - length + 1)).astype(np.int64)
    first = np.where(mode < 0.4, 1, np.where(mode < 0.75, day_lessons - length + 1, anywhere))
    code = _pick_reason(rng, _REASONS[1][grid.high[p].astype(int)])
    return _Events(grid.pd_index[p, q], first, length, code, np.full(len(p), -1))


def _late_events(grid: _Grid, late: np.ndarray, partial: _Events, rng: Rng) -> _Events:
    """One late arrival, never inside the day's absence block."""
    n_rows = grid.pd_index.max(initial=-1) + 1
    block_first = np.zeros(n_rows, np.int64)
    block_last = np.zeros(n_rows, np.int64)
    block_first[partial.pupil_day] = partial.first_lesson
    block_last[partial.pupil_day] = partial.first_lesson + partial.length - 1
    p, q = np.nonzero(late)
    pd = grid.pd_index[p, q]
    day_lessons = grid.lessons[p, q].astype(np.int64)
    bf, bl = block_first[pd], block_last[pd]
    random_lesson = 1 + (rng.random(len(p)) * day_lessons).astype(np.int64)
    lesson = np.where(rng.random(len(p)) < 0.6, 1, random_lesson)
    # Back from a morning appointment, a pupil arrives late to the next lesson.
    lesson = np.where(bf == 1, bl + 1, lesson)
    keep = (lesson <= day_lessons) & ~((lesson >= bf) & (lesson <= bl) & (bf > 0))
    ones = np.ones(keep.sum(), np.int64)
    return _Events(pd[keep], lesson[keep], ones, ones * LATE, -ones)


def _business_events(grid: _Grid, business: np.ndarray, rng: Rng) -> _Events:
    p, q = np.nonzero(business)
    day_lessons = grid.lessons[p, q].astype(np.int64)
    length = np.minimum(rng.integers(1, 3, len(p)), day_lessons)
    first = 1 + (rng.random(len(p)) * (day_lessons - length + 1)).astype(np.int64)
    code = np.full(len(p), SCHOOL_BUSINESS)
    return _Events(grid.pd_index[p, q], first, length, code, np.full(len(p), -1))


def _simulate_events(
    pupils: Pupils, days: np.ndarray, lessons: np.ndarray, pd_index: np.ndarray, rng: Rng
) -> _Events:
    """Absence, late and school-business events; ~70 % of absent lessons are whole days."""
    grid = _absence_grid(pupils, days, lessons, pd_index, rng)
    shape, enrolled = lessons.shape, grid.enrolled
    spell = _illness_spells(grid, rng)
    whole = ((rng.random(shape, dtype=np.float32) < 0.7 * grid.rate) & enrolled) | spell
    mean_block = 1.75
    partial_p = np.minimum(0.3 * grid.rate * lessons / mean_block, 0.9)
    partial = (rng.random(shape, dtype=np.float32) < partial_p) & ~whole & enrolled
    grade = pupils.grade.astype(np.int64)
    late_rate = rng.lognormal(math.log(0.06), 0.7, len(grade)) * np.where(grade >= 7, 1.6, 1.0)
    # One draw serves both: late arrivals take its low end, school business its top 0.4 %.
    draw = rng.random(shape, dtype=np.float32)
    late = (draw < np.minimum(late_rate, 0.5).astype(np.float32)[:, None]) & ~whole & enrolled
    business = (draw > 0.996) & ~whole & ~partial & ~late & enrolled

    partial_events = _partial_events(grid, partial, rng)
    events = [
        _whole_day_events(grid, whole, spell, rng),
        partial_events,
        _late_events(grid, late, partial_events, rng),
        _business_events(grid, business, rng),
    ]
    names = [f.name for f in fields(_Events)]
    return _Events(*(np.concatenate([getattr(e, n) for e in events]) for n in names))


def _pick_reason(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    return np.minimum(_pick(rng, cumulative), 3)


def _simulate_marks(
    events: _Events, pd_day_eday: np.ndarray, horizon: int, rng: np.random.Generator
) -> Marks:
    """Expand events to lesson marks and add earlier versions that were later corrected."""
    event, offset = _expand(events.length)
    pd = events.pupil_day[event]
    lesson = events.first_lesson[event] + offset
    final_code = events.code[event]
    day_minute = pd_day_eday[pd] * 1440
    lesson_minute = 8 * 60 + (lesson - 1) * 55 + rng.integers(0, 20, len(lesson))

    # Explained absences first marked unexplained, explained days later (whole event at once).
    n_events = len(events.length)
    explained_later = (events.code <= 1) & (rng.random(n_events) < 0.08)
    # Only absences the guardian reported in the morning carry the morning time.
    reported = (events.minute[event] >= 0) & ~explained_later[event]
    t0 = day_minute + np.where(reported, events.minute[event], lesson_minute)
    via_middle = explained_later & (rng.random(n_events) < 0.15)
    # Corrections are made in office hours, the same for every lesson of the event.
    office = rng.integers(8 * 60, 16 * 60 + 30, (2, n_events))
    day1 = pd_day_eday[events.pupil_day] + rng.integers(1, 7, n_events)
    day2 = day1 + rng.integers(1, 4, n_events)
    middle_code = np.where(events.code == 0, 1, 0)  # S↔L mix-up before the final reason

    # Single lessons corrected to another code, after the lesson or the next morning.
    slip = ~explained_later[event] & (rng.random(len(lesson)) < 0.01)
    slip_code = (final_code + rng.integers(1, len(MARK_CODES), len(lesson))) % len(MARK_CODES)
    next_morning = day_minute + 1440 + rng.integers(7 * 60 + 30, 10 * 60, len(lesson))
    slip_time = np.where(
        rng.random(len(lesson)) < 0.5, t0 + rng.integers(5, 90, len(lesson)), next_morning
    )

    t1 = np.where(explained_later[event], day1[event] * 1440 + office[0][event], slip_time)
    t2 = day2[event] * 1440 + office[1][event]
    has1 = (explained_later[event] | slip) & (t1 <= horizon)
    has2 = has1 & via_middle[event] & (t2 <= horizon)
    first_code = np.where(explained_later[event], 3, slip_code)

    final_time = np.where(has2, t2, np.where(has1, t1, t0))
    v_pd = [pd, pd[has1], pd[has2]]
    v_lesson = [lesson, lesson[has1], lesson[has2]]
    v_code = [final_code, first_code[has1], middle_code[event][has2]]
    v_time = [final_time, t0[has1], t1[has2]]
    v_final = [np.ones(len(pd), bool), np.zeros(has1.sum(), bool), np.zeros(has2.sum(), bool)]
    modified = np.concatenate(v_time)
    # Rows in the order the source system logged them: corrections come later in the file.
    pd_all, lesson_all = np.concatenate(v_pd), np.concatenate(v_lesson)
    order = np.lexsort((lesson_all, pd_all, modified))
    return Marks(
        pupil_day=pd_all[order].astype(np.int64),
        lesson=lesson_all[order].astype(np.int8),
        code=np.concatenate(v_code)[order].astype(np.int8),
        modified=modified[order].astype("datetime64[m]"),
        final=np.concatenate(v_final)[order],
    )


def _group_cumsum(values: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """Cumulative sums that restart where group_start is True (rows sorted by group)."""
    total = np.cumsum(values, dtype=np.int64)
    base = np.where(group_start, total - values, 0)
    return total - np.maximum.accumulate(base)


def _first_crossings(
    pupil_days: PupilDays, day_eday: np.ndarray, absent: np.ndarray, share: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per pupil and school year, the first day its year-to-date rate reaches 1/share."""
    eday = day_eday[pupil_days.day]
    d64 = eday.astype("datetime64[D]")
    month = d64.astype("datetime64[M]").astype(np.int64) % 12
    school_year = d64.astype("datetime64[Y]").astype(np.int64) - (month < 7)
    key = pupil_days.pupil.astype(np.int64) * 10_000 + school_year
    start = np.r_[True, key[1:] != key[:-1]]
    scheduled = _group_cumsum(pupil_days.lessons.astype(np.int64), start)
    missed = _group_cumsum(absent, start)
    # Integer comparison keeps the threshold exact (DESIGN §7 tiers on counts).
    reached = np.flatnonzero((scheduled >= 20) & (missed * share >= scheduled))
    _, first = np.unique(key[reached], return_index=True)
    rows = reached[first]
    return pupil_days.pupil[rows], eday[rows]


def _weekday_forward(eday: np.ndarray) -> np.ndarray:
    weekday = (eday + 3) % 7
    return eday + np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))


def _choose_types(
    rng: np.random.Generator, names: Sequence[str], weights: Sequence[float], n: int
) -> np.ndarray:
    p = np.array(weights, dtype=float)
    return np.array([_IV[t] for t in names])[rng.choice(len(names), n, p=p / p.sum())]


def _simulate_interventions(
    pupils: Pupils,
    pupil_days: PupilDays,
    days: np.ndarray,
    absent: np.ndarray,
    rng: np.random.Generator,
) -> Interventions:
    """Responses to 10 % and 20 % crossings plus background interventions, inside enrolment."""
    day_eday = days.astype(np.int64)
    pupil, when, kind = [], [], []

    p10, d10 = _first_crossings(pupil_days, day_eday, absent, 10)
    responded = rng.random(len(p10)) < 0.7
    targeted = (
        ("concern_raised", "background_investigation", "targeted_work", "consultation",
         "service_guidance", "learning_difficulty_assessment", "support_level_review",
         "intensified_learning_support", "school_coach"),
        (38, 16, 12, 8, 6, 5, 5, 4, 6),
    )  # fmt: skip
    first_date = d10 + rng.integers(-7, 31, len(p10))
    pupil.append(p10[responded])
    when.append(first_date[responded])
    kind.append(_choose_types(rng, *targeted, responded.sum()))
    again = responded & (rng.random(len(p10)) < 0.25)
    pupil.append(p10[again])
    when.append(first_date[again] + rng.integers(7, 41, again.sum()))
    kind.append(_choose_types(rng, *targeted, again.sum()))

    p20, d20 = _first_crossings(pupil_days, day_eday, absent, 5)
    responded = rng.random(len(p20)) < 0.6
    pupil.append(p20[responded])
    when.append(d20[responded] + rng.integers(0, 41, responded.sum()))
    plan = ("individual_attendance_plan", "multi_professional_group"), (60, 40)
    kind.append(_choose_types(rng, *plan, responded.sum()))
    further = responded & (rng.random(len(p20)) < 0.15)
    pupil.append(p20[further])
    when.append(d20[further] + rng.integers(10, 51, further.sum()))
    arrangements = ("flexible_arrangements", "special_pedagogical_arrangements"), (60, 40)
    kind.append(_choose_types(rng, *arrangements, further.sum()))

    n_background = rng.poisson(0.03 * len(pupils) * len(days) / 190)
    pupil.append(rng.integers(0, len(pupils), n_background))
    when.append(day_eday[rng.integers(0, len(days), n_background)])
    background = (
        ("learning_difficulty_assessment", "support_level_review",
         "intensified_learning_support", "consultation", "concern_raised"),
        (25, 25, 20, 15, 15),
    )  # fmt: skip
    kind.append(_choose_types(rng, *background, n_background))

    pupil_all = np.concatenate(pupil).astype(np.int64)
    kind_all = np.concatenate(kind).astype(np.int64)
    when_all = _weekday_forward(np.concatenate(when).astype(np.int64))
    start = pupils.enrolled_from.astype(np.int64)[pupil_all]
    end_dt = pupils.enrolled_to[pupil_all]
    end = np.where(np.isnat(end_dt), day_eday[-1], end_dt.astype(np.int64))
    keep = (when_all >= day_eday[0]) & (when_all >= start)
    keep &= (when_all <= day_eday[-1]) & (when_all <= end)
    pupil_all, kind_all, when_all = pupil_all[keep], kind_all[keep], when_all[keep]
    # One record per pupil, day and type; sorted by date as a register would list them.
    triples = np.unique(np.stack([when_all, pupil_all, kind_all], axis=1), axis=0)
    when_all, pupil_all, kind_all = triples[:, 0], triples[:, 1], triples[:, 2]

    cumulative = np.cumsum(_ROLE_WEIGHTS / _ROLE_WEIGHTS.sum(axis=1, keepdims=True), axis=1)
    role = np.minimum(_pick(rng, cumulative[kind_all]), len(ROLES) - 1)  # float round-off
    role = np.where(rng.random(len(role)) < 0.02, -1, role)
    note = np.array(_NOTES, dtype=object)[rng.integers(0, len(_NOTES), len(role))]
    return Interventions(
        pupil=pupil_all.astype(np.int32),
        date=when_all.astype("datetime64[D]"),
        type=kind_all.astype(np.int8),
        role=role.astype(np.int8),
        note=note,
    )


def _lesson_grid(pupils: Pupils, days: np.ndarray) -> np.ndarray:
    """Scheduled lessons per pupil and day from a fixed weekday pattern per school and grade."""
    grade = pupils.grade.astype(np.int64)
    base = np.where(grade <= 2, 4, np.where(grade <= 6, 5, 6))
    school = np.array([int(c) for c in pupils.school_code.tolist()], dtype=np.int64)
    weekday = (days.astype(np.int64) + 3) % 7
    pattern = np.array([1, 0, 1, 1, 0])
    shift = (school + grade)[:, None] + weekday[None, :]
    return (base[:, None] + pattern[shift % 5]).astype(np.int8)


def simulate_municipality(
    municipality_code: str,
    start: date,
    school_days: int,
    seed: int,
    pupils: int | None = None,
) -> Simulation:
    """Simulate a municipality's pupils over `school_days` school days from `start`."""
    code = _normalise_code(municipality_code)
    n = pupil_count(code) if pupils is None else pupils
    if n < 1:
        raise ValueError("pupils must be at least 1")
    days = np.array(school_calendar(code, start, school_days), dtype="datetime64[D]")
    # Independent streams per concern keep each part stable when another part changes.
    streams = np.random.SeedSequence([seed, int(code)]).spawn(4)
    rng_pupils, rng_events, rng_marks, rng_interventions = map(np.random.default_rng, streams)

    table = _simulate_pupils(code, n, days, seed, rng_pupils)
    day_eday = days.astype(np.int64)
    start_eday = table.enrolled_from.astype(np.int64)
    end_eday = np.where(
        np.isnat(table.enrolled_to), day_eday[-1], table.enrolled_to.astype(np.int64)
    )
    enrolled = (day_eday[None, :] >= start_eday[:, None]) & (day_eday[None, :] <= end_eday[:, None])
    lessons = _lesson_grid(table, days)
    pd_index = np.full(enrolled.shape, -1, dtype=np.int64)
    pd_index[enrolled] = np.arange(enrolled.sum())
    p, q = np.nonzero(enrolled)
    pupil_days = PupilDays(p.astype(np.int32), q.astype(np.int16), lessons[p, q])

    events = _simulate_events(table, days, lessons, pd_index, rng_events)
    horizon = int(day_eday[-1]) * 1440 + 22 * 60
    marks = _simulate_marks(events, day_eday[pupil_days.day], horizon, rng_marks)
    final = marks.final & (marks.code < ABSENT_CATEGORIES)
    absent = np.bincount(marks.pupil_day[final], minlength=len(pupil_days)).astype(np.int64)
    interventions = _simulate_interventions(table, pupil_days, days, absent, rng_interventions)
    return Simulation(code, seed, days, table, pupil_days, marks, interventions)


def effective_marks(sim: Simulation, cutoff_minute: int | None = None) -> np.ndarray:
    """Indices of the marks in force at a wall-clock minute: the latest version of each lesson."""
    marks = sim.marks
    modified = marks.modified.astype(np.int64)
    if cutoff_minute is None or len(marks) == 0 or modified.max() <= cutoff_minute:
        return np.flatnonzero(marks.final)
    visible = np.flatnonzero(modified <= cutoff_minute)
    key = marks.pupil_day[visible] * 16 + marks.lesson[visible]
    order = np.lexsort((modified[visible], key))
    ordered = key[order]
    last = np.r_[ordered[1:] != ordered[:-1], True]
    return visible[order[last]]


def pupil_day_counts(sim: Simulation, cutoff_minute: int | None = None) -> np.ndarray:
    """Lessons per pupil-day and category (columns follow CATEGORIES), int16."""
    idx = effective_marks(sim, cutoff_minute)
    flat = sim.marks.pupil_day[idx] * len(CATEGORIES) + sim.marks.code[idx]
    counts = np.bincount(flat, minlength=len(sim.pupil_days) * len(CATEGORIES))
    return counts.astype(np.int16).reshape(len(sim.pupil_days), len(CATEGORIES))


# --- writers


@dataclass(frozen=True)
class _Extract:
    """What one drop contains: the simulation seen through a coverage window at a time."""

    sim: Simulation
    code: str
    profile: str
    coverage: tuple[date, date]
    extracted_at: datetime  # aware, Helsinki
    encoding: str

    @property
    def cutoff(self) -> int:
        return _local_minute(self.extracted_at)

    @property
    def as_of(self) -> int:
        return _eday(self.extracted_at.date())

    def pupils_visible(self) -> np.ndarray:
        """Pupils the source system knows at extraction: enrolled on or before that day."""
        return np.flatnonzero(self.sim.pupils.enrolled_from.astype(np.int64) <= self.as_of)

    def enrolled_to(self) -> np.ndarray:
        """Leaving dates as known at extraction (later departures still look ongoing)."""
        to = self.sim.pupils.enrolled_to
        return np.where(to.astype(np.int64) > self.as_of, np.datetime64("NaT"), to)

    def pupil_day_rows(self) -> np.ndarray:
        lo, hi = _eday(self.coverage[0]), _eday(self.coverage[1])
        eday = self.sim.days.astype(np.int64)[self.sim.pupil_days.day]
        return np.flatnonzero((eday >= lo) & (eday <= hi) & (eday <= self.as_of))

    def interventions(self) -> np.ndarray:
        lo, hi = _eday(self.coverage[0]), _eday(self.coverage[1])
        eday = self.sim.interventions.date.astype(np.int64)
        return np.flatnonzero((eday >= lo) & (eday <= min(hi, self.as_of)))


def _fi_date(value: date) -> str:
    return f"{value.day}.{value.month}.{value.year}"


def _date_strings(edays: Iterable[int], style: str) -> list[str]:
    dates = [_to_date(e) for e in edays]
    return [_fi_date(d) if style == "fi" else d.isoformat() for d in dates]


def _lookup(strings: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(strings, _LARGE).take(pa.array(index, pa.int64()))


def _join(columns: Sequence[pa.Array | str], sep: str) -> pa.Array:
    args = [pa.scalar(c, _LARGE) if isinstance(c, str) else c for c in columns]
    return pc.binary_join_element_wise(*args, pa.scalar(sep, _LARGE))


def _as_text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), _LARGE)


def _string_bytes(lines: pa.Array) -> memoryview:
    """The concatenated bytes of a string array, without copying value by value."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    lines = lines.cast(_LARGE)
    _, offsets_buf, data_buf = lines.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    return memoryview(data_buf)[int(offsets[0]) : int(offsets[-1])]


class _HashingFile:
    """A binary file that hashes what it writes and counts data rows."""

    def __init__(self, path: Path) -> None:
        self.path, self.rows = path, 0
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._hash = hashlib.sha256()

    def write(self, data: bytes | memoryview, rows: int = 0) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.rows += rows

    def close(self) -> dict:
        self._file.close()
        return {"path": self.path.name, "sha256": self._hash.hexdigest(), "rows": self.rows}


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8")


def _write_lines(out: _HashingFile, build: Iterator[pa.Array], encoding: str) -> None:
    """Write chunks of ready lines (each ending in newline) in the file's encoding."""
    for lines in build:
        data: bytes | memoryview = _string_bytes(lines)
        if not _is_utf8(encoding):
            raw = bytes(data)
            data = raw if raw.isascii() else raw.decode("utf-8").encode(encoding)
        out.write(data, len(lines))


def _chunks(rows: np.ndarray) -> Iterator[np.ndarray]:
    for lo in range(0, len(rows), _CHUNK_ROWS):
        yield rows[lo : lo + _CHUNK_ROWS]


def _csv_text(rows: Iterable[Sequence[str]], eol: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator=eol, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buffer.getvalue()


def _write_small_csv(
    path: Path, header: Sequence[str], rows: list[list[str]], ext: _Extract, eol: str
) -> dict:
    out = _HashingFile(path)
    out.write(_csv_text([header, *rows], eol).encode(ext.encoding))
    out.rows = len(rows)
    return out.close()


def _eol(encoding: str) -> str:
    # Windows-era exports in cp1252 end lines with CRLF; UTF-8 API exports with LF.
    return "\r\n" if encoding.lower() in ("cp1252", "windows-1252") else "\n"


def _write_csv_profile(ext: _Extract, folder: Path) -> dict:
    sim, names, eol = ext.sim, _FILE_NAMES["lesson_marks_csv"], _eol(ext.encoding)
    ids = sim.local_ids("lesson_marks_csv")
    p = sim.pupils
    to = ext.enrolled_to()
    students = [
        [
            ids[i],
            p.learner_oid[i] or "",
            p.school_code[i],
            str(p.grade[i]),
            _fi_date(p.enrolled_from[i].item()),
            "" if np.isnat(to[i]) else _fi_date(to[i].item()),
            p.surname[i],
            p.first_name[i],
            p.identity_code[i],
            p.address[i],
            p.guardian_identity_code[i],
        ]
        for i in ext.pupils_visible().tolist()
    ]
    header = ["oppilas_id", "oppijanumero", "koulu", "vuosiluokka", "alkaen", "paattyen"]
    files = {
        "students": _write_small_csv(
            folder / names["students"],
            [*header, "sukunimi", "etunimi", "hetu", "osoite", "huoltajan_hetu"],
            students,
            ext,
            eol,
        )
    }

    rows = ext.pupil_day_rows()
    day_strings = _date_strings(sim.days.astype(np.int64).tolist(), "fi")
    id_array = pa.array(ids.tolist(), _LARGE)

    def lesson_lines() -> Iterator[pa.Array]:
        for chunk in _chunks(rows):
            pd = sim.pupil_days
            yield _join(
                [
                    _join(
                        [
                            id_array.take(pa.array(pd.pupil[chunk])),
                            _lookup(day_strings, pd.day[chunk]),
                            _as_text(pd.lessons[chunk]),
                        ],
                        ";",
                    ),
                    "",
                ],
                eol,
            )

    out = _HashingFile(folder / names["lessons"])
    out.write(f"oppilas_id;pvm;tunnit{eol}".encode(ext.encoding))
    _write_lines(out, lesson_lines(), ext.encoding)
    files["lessons"] = out.close()

    in_rows = np.zeros(len(sim.pupil_days), dtype=bool)
    in_rows[rows] = True
    modified = sim.marks.modified.astype(np.int64)
    mark_rows = np.flatnonzero(in_rows[sim.marks.pupil_day] & (modified <= ext.cutoff))
    mark_days = (modified[mark_rows] // 1440) if len(mark_rows) else np.zeros(0, np.int64)
    first_day = int(min(mark_days.min(initial=10**9), sim.days.astype(np.int64)[0]))
    last_day = int(mark_days.max(initial=first_day))
    stamp_days = _date_strings(range(first_day, last_day + 1), "fi")
    clock = [f"{m // 60}:{m % 60:02d}" for m in range(1440)]
    mark_code = pa.array(MARK_CODES, _LARGE)

    def mark_lines() -> Iterator[pa.Array]:
        for chunk in _chunks(mark_rows):
            pd = sim.marks.pupil_day[chunk]
            minute = modified[chunk]
            stamp = _join(
                [_lookup(stamp_days, minute // 1440 - first_day), _lookup(clock, minute % 1440)],
                " ",
            )
            fields = [
                id_array.take(pa.array(sim.pupil_days.pupil[pd])),
                _lookup(day_strings, sim.pupil_days.day[pd]),
                _as_text(sim.marks.lesson[chunk]),
                mark_code.take(pa.array(sim.marks.code[chunk])),
                stamp,
            ]
            yield _join([_join(fields, ";"), ""], eol)

    out = _HashingFile(folder / names["marks"])
    out.write(f"oppilas_id;pvm;tunti;merkinta;muokattu{eol}".encode(ext.encoding))
    _write_lines(out, mark_lines(), ext.encoding)
    files["marks"] = out.close()

    iv = sim.interventions
    interventions = [
        [
            ids[iv.pupil[i]],
            _fi_date(iv.date[i].item()),
            INTERVENTION_TYPES[iv.type[i]][3],
            ROLES[iv.role[i]] if iv.role[i] >= 0 else "",
            iv.note[i],
        ]
        for i in ext.interventions().tolist()
    ]
    files["interventions"] = _write_small_csv(
        folder / names["interventions"],
        ["oppilas_id", "pvm", "toimenpide", "vastuutaho", "lisatiedot"],
        interventions,
        ext,
        eol,
    )
    return files


def _json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _write_jsonl_profile(ext: _Extract, folder: Path) -> dict:
    sim, names = ext.sim, _FILE_NAMES["daily_summary_jsonl"]
    ids = sim.local_ids("daily_summary_jsonl")
    p = sim.pupils
    to = ext.enrolled_to()

    out = _HashingFile(folder / names["students"])
    for i in ext.pupils_visible().tolist():
        record = {
            "student_ref": ids[i],
            "learner_oid": p.learner_oid[i],
            "school_code": str(p.school_code[i]),
            "grade": int(p.grade[i]),
            "enrolled_from": p.enrolled_from[i].item().isoformat(),
            "enrolled_to": None if np.isnat(to[i]) else to[i].item().isoformat(),
            "name": f"{p.first_name[i]} {p.surname[i]}",
            "class": f"{p.grade[i]}{p.class_letter[i]}",
        }
        out.write(_json_line(record).encode("utf-8"), 1)
    files = {"students": out.close()}

    rows = ext.pupil_day_rows()
    counts = pupil_day_counts(sim, ext.cutoff)
    day_strings = _date_strings(sim.days.astype(np.int64).tolist(), "iso")
    id_array = pa.array(ids.tolist(), _LARGE)

    def attendance_lines() -> Iterator[pa.Array]:
        pd = sim.pupil_days
        for chunk in _chunks(rows):
            fragments = []
            for c, name in enumerate(JSONL_CODES):
                n = counts[chunk, c]
                text = _join([f'"{name}": ', _as_text(n), ", "], "")
                fragments.append(pc.if_else(pa.array(n > 0), text, pa.scalar("", _LARGE)))
            # Each fragment ends in ", " after a digit, so trimming those characters is exact.
            absences = pc.utf8_rtrim(_join(fragments, ""), characters=", ")
            fields = [
                '{"student_ref": "',
                id_array.take(pa.array(pd.pupil[chunk])),
                '", "date": "',
                _lookup(day_strings, pd.day[chunk]),
                '", "scheduled_lessons": ',
                _as_text(pd.lessons[chunk]),
                ', "absences": {',
                absences,
                "}}\n",
            ]
            yield _join(fields, "")

    out = _HashingFile(folder / names["attendance"])
    _write_lines(out, attendance_lines(), "utf-8")
    files["attendance"] = out.close()

    iv = sim.interventions
    out = _HashingFile(folder / names["interventions"])
    for i in ext.interventions().tolist():
        record = {
            "student_ref": ids[iv.pupil[i]],
            "date": iv.date[i].item().isoformat(),
            "type": INTERVENTION_TYPES[iv.type[i]][4],
            "role": ROLES[iv.role[i]] if iv.role[i] >= 0 else None,
            "notes": iv.note[i] or None,
        }
        out.write(_json_line(record).encode("utf-8"), 1)
    files["interventions"] = out.close()
    return files


def _weekly_totals(ext: _Extract) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pupil and ISO week: pupil, Monday (days since 1970), scheduled lessons, counts."""
    sim = ext.sim
    rows = ext.pupil_day_rows()
    counts = pupil_day_counts(sim, ext.cutoff)[rows].astype(np.int64)
    eday = sim.days.astype(np.int64)[sim.pupil_days.day[rows]]
    monday = eday - (eday + 3) % 7
    pupil = sim.pupil_days.pupil[rows].astype(np.int64)
    # Rows are sorted by pupil then day, so each pupil-week is one contiguous run.
    key = pupil * 1_000_000 + monday
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, int)
    if len(starts) == 0:
        return pupil, monday, np.zeros(0, np.int64), np.zeros((0, len(CATEGORIES)), np.int64)
    lessons = np.add.reduceat(sim.pupil_days.lessons[rows].astype(np.int64), starts)
    totals = np.add.reduceat(counts, starts, axis=0)
    return pupil[starts], monday[starts], lessons, totals


def _weekly_rows_xml(
    ids: pa.Array, year: np.ndarray, week: np.ndarray, lessons: np.ndarray, totals: np.ndarray
) -> Iterator[memoryview]:
    """Poissaolot data rows as worksheet XML, cell for cell as openpyxl's write-only mode writes.

    openpyxl serialises ~20,000 rows a second without lxml; building the same XML with
    Arrow string kernels keeps a scale-1 run to seconds per workbook.
    """
    columns = [year, week, lessons, *totals[:, : len(XLSX_COLUMNS)].T]
    for chunk in _chunks(np.arange(len(year))):
        r = _as_text(chunk + 2)  # row 1 is the header
        parts: list[pa.Array | str] = ['<row r="', r, '"><c r="A', r, '" t="inlineStr"><is><t>']
        parts += [ids.take(pa.array(chunk)), "</t></is></c>"]
        for letter, values in zip("BCDEFGHI", columns, strict=True):
            parts += [f'<c r="{letter}', r, '" t="n"><v>', _as_text(values[chunk]), "</v></c>"]
        parts.append("</row>")
        yield _string_bytes(_join(parts, ""))


def _write_fixed_zip(
    path: Path, data: bytes, moment: datetime, rows: dict[str, Iterator[memoryview]]
) -> None:
    """Rewrite openpyxl's archive with fixed timestamps (equal content, equal bytes).

    `rows` maps a worksheet part to extra row XML inserted before its `</sheetData>`.
    """
    stamp = moment.timetuple()[:6]
    props = DocumentProperties(creator="absence generator", created=moment, modified=moment)
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = tostring(props.to_tree())
            fixed = zipfile.ZipInfo(info.filename, date_time=stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            if info.filename not in rows:
                target.writestr(fixed, content)
                continue
            head, tail = content.split(b"</sheetData>", 1)
            with target.open(fixed, "w", force_zip64=True) as member:
                member.write(head)
                for chunk in rows[info.filename]:
                    member.write(chunk)
                member.write(b"</sheetData>" + tail)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_xlsx_profile(ext: _Extract, folder: Path) -> dict:
    sim = ext.sim
    ids = sim.local_ids("weekly_totals_xlsx")
    p = sim.pupils
    to = ext.enrolled_to()
    pupil, monday, lessons, totals = _weekly_totals(ext)
    if len(pupil) > EXCEL_MAX_DATA_ROWS:
        raise ValueError(f"{len(pupil)} weekly rows do not fit one Excel sheet")
    # A weekly workbook is appended to week by week: rows by week, then pupil.
    order = np.lexsort((pupil, monday))
    iso = {m: _to_date(m).isocalendar() for m in np.unique(monday).tolist()}
    year = np.array([iso[m][0] for m in monday[order].tolist()], dtype=np.int64)
    week = np.array([iso[m][1] for m in monday[order].tolist()], dtype=np.int64)

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Oppilaat")
    sheet.append(["tunniste", "koulu", "luokka", "alkaen", "paattyen", "nimi", "hetu"])
    visible = ext.pupils_visible().tolist()
    for i in visible:
        sheet.append(
            [
                ids[i],
                str(p.school_code[i]),
                f"{p.grade[i]}{p.class_letter[i]}",
                p.enrolled_from[i].item(),
                None if np.isnat(to[i]) else to[i].item(),
                f"{p.first_name[i]} {p.surname[i]}",
                p.identity_code[i],
            ]
        )
    # The data rows of this sheet are added while archiving (see _weekly_rows_xml).
    workbook.create_sheet("Poissaolot").append(
        ["tunniste", "vuosi", "viikko", "pidetyt_tunnit", *XLSX_COLUMNS]
    )
    sheet = workbook.create_sheet("Toimenpiteet")
    sheet.append(["tunniste", "pvm", "toimenpide"])
    iv = sim.interventions
    iv_rows = ext.interventions().tolist()
    for i in iv_rows:
        sheet.append([ids[iv.pupil[i]], iv.date[i].item(), INTERVENTION_TYPES[iv.type[i]][1]])

    buffer = io.BytesIO()
    workbook.save(buffer)
    id_array = pa.array(ids.tolist(), _LARGE).take(pa.array(pupil[order]))
    weekly_xml = _weekly_rows_xml(id_array, year, week, lessons[order], totals[order])
    name = _FILE_NAMES["weekly_totals_xlsx"]["workbook"]
    moment = ext.extracted_at.replace(tzinfo=None)
    _write_fixed_zip(folder / name, buffer.getvalue(), moment, {_POISSAOLOT_PART: weekly_xml})
    rows = {"Oppilaat": len(visible), "Poissaolot": len(order), "Toimenpiteet": len(iv_rows)}
    return {"workbook": {"path": name, "sha256": _file_digest(folder / name), "rows": rows}}


_POISSAOLOT_PART = "xl/worksheets/sheet2.xml"  # openpyxl numbers sheets in creation order


_WRITERS = {
    "lesson_marks_csv": _write_csv_profile,
    "daily_summary_jsonl": _write_jsonl_profile,
    "weekly_totals_xlsx": _write_xlsx_profile,
}


def whole_weeks(coverage: tuple[date, date]) -> tuple[date, date]:
    """Extend a window outward to Monday..Sunday."""
    start, end = coverage
    return start - timedelta(days=start.weekday()), end + timedelta(days=6 - end.weekday())


def _extraction_time(extracted_at: datetime | None, coverage_end: date) -> datetime:
    if extracted_at is None:
        return datetime.combine(coverage_end, time(23, 40), tzinfo=HELSINKI)
    if extracted_at.tzinfo is None:
        return extracted_at.replace(tzinfo=HELSINKI)
    return extracted_at.astimezone(HELSINKI)


def write_drop(
    sim: Simulation,
    profile: str,
    landing: Path,
    *,
    municipality_code: str | None = None,
    coverage: tuple[date, date] | None = None,
    extracted_at: datetime | None = None,
    extract_id: str | None = None,
    encoding: str = "utf-8",
) -> Path:
    """Write the simulation as one drop `landing/<mmm>/<extract_id>/`, manifest.json last."""
    if profile not in _WRITERS:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
    if profile != "lesson_marks_csv" and not _is_utf8(encoding):
        raise ValueError(f"{profile} is UTF-8 by contract; encoding applies to CSV only")
    code = _normalise_code(municipality_code or sim.municipality_code)
    window = coverage or (sim.days[0].item(), sim.days[-1].item())
    # Extracted the night of the last day covered, whatever the profile: a weekly sheet sent
    # on Friday night belongs to the same night as the daily systems' extracts.
    moment = _extraction_time(extracted_at, window[1])
    if profile == "weekly_totals_xlsx":
        # A weekly record counts on its Sunday, so the window must hold whole weeks.
        window = whole_weeks(window)
    folder = Path(landing) / code / (extract_id or moment.strftime("%Y%m%dT%H%M%S"))
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.json"
    # Rewriting a drop: withdraw the old manifest first so it never vouches for new files.
    manifest_path.unlink(missing_ok=True)

    ext = _Extract(sim, code, profile, window, moment, encoding)
    files = _WRITERS[profile](ext, folder)
    manifest = {
        "municipality_code": code,
        "profile": profile,
        "extracted_at": moment.isoformat(),
        "coverage": {"start": window[0].isoformat(), "end": window[1].isoformat()},
        **({"encoding": encoding} if profile == "lesson_marks_csv" else {}),
        "files": files,
    }
    temporary = folder / "manifest.json.tmp"
    temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(temporary, manifest_path)
    return folder


# --- generate


def choose_municipalities(count: int, seed: int) -> list[str]:
    """`count` municipalities, Helsinki first, then one per region in turn (seeded order)."""
    rng = np.random.default_rng([seed, 308])
    shares = _pupil_shares()
    by_region: dict[str, list[str]] = {}
    for m in municipalities():
        if m.code != "091":
            by_region.setdefault(m.region_code, []).append(m.code)
    regions = sorted(by_region)
    others = [r for r in regions if r != "01"]
    # Helsinki stands for Uusimaa in the first round, so Uusimaa comes last in each round.
    order = [*[others[i] for i in rng.permutation(len(others))], "01"]
    chosen = ["091"]
    while len(chosen) < min(count, len(municipalities())):
        for region in order:
            pool = by_region[region]
            if not pool or len(chosen) >= count:
                continue
            # Bigger towns are likelier picks, as in a real pilot group.
            weights = np.sqrt([shares[c] for c in pool])
            pick = pool.pop(int(rng.choice(len(pool), p=weights / weights.sum())))
            chosen.append(pick)
    return chosen


def parse_municipalities(value: str) -> int | list[str]:
    """Parse `--municipalities`: `all`, a count of one or two digits, or 3-digit codes like
    `091,049` or `837` (Statistics Finland codes always have three digits)."""
    text = value.strip()
    if text.lower() == "all":
        return len(municipalities())
    if "," in text or len(text) == 3:
        return [_normalise_code(c) for c in text.split(",") if c.strip()]
    return int(text)


def _weeks_spanned(days: np.ndarray) -> int:
    first, last = whole_weeks((days[0].item(), days[-1].item()))
    return ((last - first).days + 1) // 7


def generate(
    out: Path,
    municipalities: int | list[str] | None = None,
    start: date = date(2026, 8, 10),
    days: int = 60,
    seed: int = 42,
    scale: float | None = None,
) -> list[Path]:
    """Write one drop per municipality into `out`; returns the drop folders.

    `municipalities` defaults to 6, or to all 308 when a `scale` is given (scale 1.0 is the
    whole country). Profiles cycle CSV, JSONL, XLSX in the chosen order; every third CSV
    municipality from the second on writes cp1252.
    """
    if municipalities is None:
        municipalities = len(_municipality_index()) if scale is not None else 6
    if isinstance(municipalities, int):
        codes = choose_municipalities(municipalities, seed)
    else:
        codes = [_normalise_code(c) for c in municipalities]
    folders, csv_count = [], 0
    for i, code in enumerate(codes):
        sim = simulate_municipality(code, start, days, seed, pupils=pupil_count(code, scale))
        profile = PROFILES[i % len(PROFILES)]
        if profile == "weekly_totals_xlsx" and (
            len(sim.pupils) * _weeks_spanned(sim.days) > EXCEL_MAX_DATA_ROWS
        ):
            profile = "lesson_marks_csv"  # a city this size does not keep attendance in Excel
        encoding = "utf-8"
        if profile == "lesson_marks_csv":
            encoding = "cp1252" if csv_count % 3 == 1 else "utf-8"
            csv_count += 1
        folders.append(write_drop(sim, profile, Path(out), encoding=encoding))
    return folders


def main(argv: Sequence[str] | None = None) -> int:
    """`absence generate`: parse the options, write the drops, print where they are."""
    parser = argparse.ArgumentParser(prog="absence generate", description=generate.__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--municipalities", type=parse_municipalities, default=None,
                        help="a count (default 6), 'all', or codes such as 091,049")  # fmt: skip
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 8, 10))
    parser.add_argument("--days", type=int, default=60, help="number of school days")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=None, help="1.0 = whole Finland")
    args = parser.parse_args(argv)
    folders = generate(args.out, args.municipalities, args.start, args.days, args.seed, args.scale)
    for folder in folders:
        print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
