"""Per-run overhead of Dagster's instance storage: SQLite (the demo's config/dagster.yaml) vs
PostgreSQL (config/production/dagster.yaml, a throwaway local server).

    .venv/bin/python benchmarks/instance_overhead.py [--runs 20]

Two kinds of run, each materialised in-process (`dg.materialize`) against an instance on disk,
so only the storage differs: an empty asset (what a run costs with no work at all: run
record, event log, asset records) and one real ingest run of a tiny drop (the landing sensor's
unit of work). Prints the median and 90th percentile seconds per run; reported, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402

from benchmarks import postgres_server  # noqa: E402


@dg.asset
def empty_asset() -> None:
    """No work: the run's cost is the instance's."""


def _tiny_drops(landing: Path, count: int) -> list[str]:
    from datetime import date, timedelta

    from pipelines.generator import generate

    first = landing / "_first"
    generate(first, municipalities=["091"], start=date(2026, 8, 10), days=3, seed=1,
             scale=0.0005)
    (source,) = list((first / "091").iterdir())
    ids = []
    for n in range(count):
        extract = f"bench{n:03d}"
        target = landing / "091" / extract
        shutil.copytree(source, target)
        manifest = target / "manifest.json"
        data = json.loads(manifest.read_text("utf-8"))
        stamp = date(2026, 8, 12) + timedelta(days=n)
        data["extract_id"] = extract
        data["extracted_at"] = f"{stamp.isoformat()}T23:40:00+03:00"
        manifest.write_text(json.dumps(data), "utf-8")
        ids.append(extract)
    shutil.rmtree(first)
    return ids


def _measure(home: Path, runs: int, work: Path) -> dict[str, list[float]]:
    from pipelines.config import Settings
    from pipelines.defs.ingest.assets import ingest_extract
    from pipelines.defs.resources import AbsenceSettings
    from pipelines.ingest.extract import ensure_layout

    settings = Settings.from_env(landing=work / "landing", warehouse=work / "warehouse",
                                 pseudonym_key="bench-key")
    ensure_layout(settings)
    ids = _tiny_drops(settings.landing, runs)
    resources = {"absence": AbsenceSettings.of(settings)}
    times: dict[str, list[float]] = {"empty run": [], "ingest run (tiny drop)": []}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("municipality", ["091"])
        for _ in range(runs):
            started = time.perf_counter()
            dg.materialize([empty_asset], instance=instance)
            times["empty run"].append(time.perf_counter() - started)
        for extract in ids:
            started = time.perf_counter()
            dg.materialize([ingest_extract], partition_key="091", instance=instance,
                           resources=resources, run_config={"ops": {"ingest_extract": {
                               "config": {"extract_id": extract}}}})
            times["ingest run (tiny drop)"].append(time.perf_counter() - started)
    return times


def _row(name: str, kind: str, values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[max(0, int(round(0.9 * len(ordered))) - 1)]
    return f"| {name} | {kind} | {statistics.median(values):.3f} | {p90:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    rows = ["| instance | run | median s | p90 s |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_home = Path(tmp) / "sqlite"
        sqlite_home.mkdir()
        shutil.copy(ROOT / "config" / "dagster.yaml", sqlite_home / "dagster.yaml")
        for kind, values in _measure(sqlite_home, args.runs, Path(tmp) / "a").items():
            rows.append(_row("SQLite (demo)", kind, values))
        with postgres_server.running() as variables:
            os.environ.update(variables)
            pg_home = Path(tmp) / "postgres"
            pg_home.mkdir()
            shutil.copy(ROOT / "config" / "production" / "dagster.yaml",
                        pg_home / "dagster.yaml")
            for kind, values in _measure(pg_home, args.runs, Path(tmp) / "b").items():
                rows.append(_row("PostgreSQL (production)", kind, values))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
