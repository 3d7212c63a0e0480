"""Building drops for lifecycle tests: simulate, write, then damage or correct them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipelines.config import Settings
from pipelines.generator import Simulation, simulate_municipality, write_drop
from pipelines.ingest import ledger
from tests.independent import read_landing, totals

HELSINKI = ZoneInfo("Europe/Helsinki")
START = date(2026, 8, 10)


def sim(code: str, days: int = 20, pupils: int = 50, seed: int = 11) -> Simulation:
    return simulate_municipality(code, START, school_days=days, seed=seed, pupils=pupils)


def night(day, hour: int = 23, minute: int = 40) -> datetime:
    day = day if isinstance(day, date) else day.item()
    return datetime.combine(day, time(hour, minute), tzinfo=HELSINKI)


def drop(simulation: Simulation, profile: str, landing: Path, *, first: int = 0,
         last: int | None = None, extracted: datetime | None = None, extract_id=None) -> Path:
    """A drop covering school days first..last (indexes) of the simulation."""
    days = [d.item() for d in simulation.days]
    last_day = days[-1 if last is None else last]
    return write_drop(simulation, profile, landing, coverage=(days[first], last_day),
                      extracted_at=extracted or night(last_day), extract_id=extract_id)


def rewrite(folder: Path, key: str, change: Callable[[bytes], bytes], *,
            fix_sha: bool = True, fix_rows: bool = True) -> None:
    """Change one data file, then (optionally) make the manifest agree with it."""
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    path = folder / manifest["files"][key]["path"]
    data = change(path.read_bytes())
    path.write_bytes(data)
    if fix_sha:
        manifest["files"][key]["sha256"] = hashlib.sha256(data).hexdigest()
    if fix_rows:
        manifest["files"][key]["rows"] = max(data.count(b"\n") - 1, 0) if path.suffix == ".csv" \
            else data.count(b"\n")
    manifest_path.write_text(json.dumps(manifest), "utf-8")


def drop_lines(predicate: Callable[[str], bool], encoding: str = "utf-8"):
    """A change that deletes the data lines matching predicate (a deletion in the source)."""
    def change(data: bytes) -> bytes:
        lines = data.decode(encoding).splitlines(keepends=True)
        return "".join(lines[:1] + [x for x in lines[1:] if not predicate(x)]).encode(encoding)
    return change


def later(day: date, days: int) -> date:
    return day + timedelta(days=days)


def published_by_municipality(warehouse: Path) -> dict[str, tuple]:
    with duckdb.connect(str(warehouse / "published" / "national.duckdb"), read_only=True) as c:
        rows = c.execute("""
            select municipality_code, students, scheduled_lessons, absent_lessons
            from absence_rates where level = 'municipality' and period_type = 'school_year'
              and grade_band = 'all'""").fetchall()
    return {m: (s, Fraction(str(sch)), Fraction(str(a))) for m, s, sch, a in rows}


def expected_by_municipality(landing: Path, drops: list[Path]) -> dict[str, tuple]:
    data = read_landing(landing, drops)
    codes = {r.municipality for r in data.records}
    return {m: totals([r for r in data.records if r.municipality == m]) for m in codes}


def statuses(settings: Settings) -> dict[str, str]:
    return {f"{e['municipality_code']}/{e['extract_id']}": e["status"]
            for e in ledger.read_entries(settings.ledger)}
