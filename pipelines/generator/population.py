"""Who is simulated: the size model, pupils, schools and classes, learner OIDs, enrolments and
the fake identities (names, identity codes, addresses) that the pipeline must drop."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np

from pipelines.generator.calendar import (
    _municipality_index,
    _normalise_code,
    _school_year_start,
    municipalities,
)

FINLAND_PUPILS = 560_000

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
_IDENTITY_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_LOCAL_ID_PREFIX = {"lesson_marks_csv": "OP", "daily_summary_jsonl": "S", "weekly_totals_xlsx": "T"}


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
