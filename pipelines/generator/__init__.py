"""Synthetic, deterministic-by-seed municipality drops following DESIGN §3 and §4.1-4.3.

The generator is a simulation (`simulate_municipality`) plus one writer per source profile
(`write_drop`), so the same simulated pupils and days can be written as lesson markings,
daily summaries or weekly totals. `generate` is the `absence generate` entry point.

The modules follow the data they make, each importing only the ones listed before it:

- `calendar`: reference data (municipalities, holidays, breaks) and school calendars;
- `vocabulary`: profiles, absence categories and their codes, intervention types, roles;
- `population`: the size model, pupils, schools, learner OIDs and fake identities;
- `simulation`: absence events, marks, interventions, `Simulation`, `pupil_day_counts`;
- `writers`: one module per profile, `_common` for what they share, `drop.write_drop`;
- `run`: `generate` and `main` (`python -m pipelines.generator`).

This module re-exports the public names, so `from pipelines.generator import X` works as it
did when the generator was one module.

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

from pipelines.generator.calendar import (
    HELSINKI,
    Municipality,
    holidays,
    is_school_day,
    municipalities,
    school_calendar,
    whole_weeks,
)
from pipelines.generator.population import (
    FINLAND_PUPILS,
    Pupils,
    identity_code,
    pupil_count,
)
from pipelines.generator.run import (
    choose_municipalities,
    generate,
    main,
    parse_municipalities,
)
from pipelines.generator.simulation import (
    Interventions,
    Marks,
    PupilDays,
    Rng,
    Simulation,
    effective_marks,
    pupil_day_counts,
    simulate_municipality,
)
from pipelines.generator.vocabulary import (
    ABSENT_CATEGORIES,
    CATEGORIES,
    INTERVENTION_TYPES,
    JSONL_CODES,
    LATE,
    MARK_CODES,
    PROFILES,
    ROLES,
    SCHOOL_BUSINESS,
    XLSX_COLUMNS,
)
from pipelines.generator.writers.drop import write_drop
from pipelines.generator.writers.weekly_totals_xlsx import EXCEL_MAX_DATA_ROWS

__all__ = [
    # calendar
    "HELSINKI",
    "Municipality",
    "holidays",
    "is_school_day",
    "municipalities",
    "school_calendar",
    "whole_weeks",
    # vocabulary
    "ABSENT_CATEGORIES",
    "CATEGORIES",
    "INTERVENTION_TYPES",
    "JSONL_CODES",
    "LATE",
    "MARK_CODES",
    "PROFILES",
    "ROLES",
    "SCHOOL_BUSINESS",
    "XLSX_COLUMNS",
    # population
    "FINLAND_PUPILS",
    "Pupils",
    "identity_code",
    "pupil_count",
    # simulation
    "Interventions",
    "Marks",
    "PupilDays",
    "Rng",
    "Simulation",
    "effective_marks",
    "pupil_day_counts",
    "simulate_municipality",
    # writers
    "EXCEL_MAX_DATA_ROWS",
    "write_drop",
    # run
    "choose_municipalities",
    "generate",
    "main",
    "parse_municipalities",
]
