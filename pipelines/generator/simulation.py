"""What happens to the pupils: absence propensity and events, lesson marks with their
corrections, interventions; `simulate_municipality` puts them together as a `Simulation`, and
`effective_marks` / `pupil_day_counts` read the marks in force at a time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime

import numpy as np

from pipelines.generator.calendar import _local_minute, _normalise_code, school_calendar
from pipelines.generator.population import (
    _LOCAL_ID_PREFIX,
    Pupils,
    _simulate_pupils,
    pupil_count,
)
from pipelines.generator.vocabulary import (
    _IV,
    ABSENT_CATEGORIES,
    CATEGORIES,
    LATE,
    MARK_CODES,
    ROLES,
    SCHOOL_BUSINESS,
)

Rng = np.random.Generator
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
