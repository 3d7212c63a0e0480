"""`generate`, the `absence generate` entry point: which municipalities, which profile and
encoding each one writes, one drop each; `main` parses the options (`python -m
pipelines.generator`)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np

from pipelines.generator.calendar import (
    _municipality_index,
    _normalise_code,
    municipalities,
    whole_weeks,
)
from pipelines.generator.population import _pupil_shares, pupil_count
from pipelines.generator.simulation import simulate_municipality
from pipelines.generator.vocabulary import PROFILES
from pipelines.generator.writers.drop import write_drop
from pipelines.generator.writers.weekly_totals_xlsx import EXCEL_MAX_DATA_ROWS


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
    through: int | None = None,
) -> list[Path]:
    """Write one drop per municipality into `out`; returns the drop folders.

    With `through`, each drop covers only the first `through` of the `days` school days and
    is extracted the night of the last of them: the later days, and the corrections made on
    them, are left for later nights' extracts of the same simulation.

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
        coverage = None
        if through is not None:
            if not 1 <= through <= len(sim.days):
                raise ValueError(f"through must be 1-{len(sim.days)} school days")
            coverage = (sim.days[0].item(), sim.days[through - 1].item())
        folders.append(write_drop(sim, profile, Path(out), coverage=coverage, encoding=encoding))
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
