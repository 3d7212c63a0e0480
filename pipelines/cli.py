"""The `absence` command (DESIGN §9): demo, generate, run, query; plus audit."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from pipelines.config import Settings
from pipelines.permissions import restrict_umask

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUARANTINED = 0, 1, 2, 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="absence", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate a sample, run the whole pipeline, summarise")
    _paths(demo)
    demo.add_argument("--municipalities", default=None,
                      help="how many (N) or which (comma-separated codes); default 6")
    demo.add_argument("--days", type=int, default=60)
    demo.add_argument("--seed", type=int, default=42)

    gen = commands.add_parser("generate", help="write synthetic municipality drops")
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--municipalities", default=None,
                     help="how many (N), which (comma-separated codes, e.g. 091,837) or 'all'; "
                          "default 6, or all 308 with --scale")
    gen.add_argument("--start", type=date.fromisoformat, default=date(2026, 8, 10))
    gen.add_argument("--days", type=int, default=60, help="school days to cover")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--scale", type=float, default=None,
                     help="pupil counts as a share of Finland (1.0 = ~560,000 pupils)")

    run = commands.add_parser("run", help="process pending drops, build, check and publish")
    _paths(run)
    run.add_argument("--full-refresh", action="store_true",
                     help="rebuild dbt's incremental models from scratch (after an upgrade "
                          "or a change to their SQL)")
    run.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                     help="wait this long for another `absence run` on the same warehouse "
                          "to finish (default: refuse at once, exit 2)")

    query = commands.add_parser("query", help="read-only SQL against the published files")
    query.add_argument("--region", help="query published/regions/<CODE>.duckdb")
    query.add_argument("--warehouse", type=Path)
    query.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    query.add_argument("sql")

    audit = commands.add_parser("audit", help="scan every written file for pupil data leaks")
    _paths(audit)

    args = parser.parse_args(argv)
    restrict_umask()  # pupil-level files are owner-only whatever the caller's umask
    handlers = {"demo": _demo, "generate": _generate, "run": _run, "query": _query,
                "audit": _audit}
    return handlers[args.command](args)


def _paths(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--landing", type=Path,
                     help="landing zone (default $ABSENCE_LANDING or ./landing)")
    sub.add_argument("--warehouse", type=Path,
                     help="data home (default $ABSENCE_WAREHOUSE or ./warehouse)")


def _settings(args: argparse.Namespace) -> Settings:
    """The edge: the environment's settings with this command's flags on top."""
    try:
        return Settings.from_env(landing=getattr(args, "landing", None),
                                 warehouse=getattr(args, "warehouse", None))
    except ValueError as exc:
        print(f"absence {args.command}: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _municipalities(value: str | None) -> int | list[str] | None:
    from pipelines.generator import parse_municipalities

    return None if value is None else parse_municipalities(value)


def _generate(args: argparse.Namespace) -> int:
    from pipelines.generator import generate

    started = time.perf_counter()
    drops = generate(args.out, municipalities=_municipalities(args.municipalities),
                     start=args.start, days=args.days, seed=args.seed, scale=args.scale)
    for drop in drops:
        print(drop)
    print(f"{len(drops)} drops written to {args.out} in {time.perf_counter() - started:.1f} s")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from pipelines.ingest.pseudonym import MissingKeyError
    from pipelines.locks import LockBusy
    from pipelines.orchestrate import print_outcome, run_pipeline

    settings = _settings(args)
    try:
        outcome = run_pipeline(settings, full_refresh=args.full_refresh, lock_wait=args.wait)
    except MissingKeyError as exc:
        print(f"absence run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LockBusy as exc:
        print(f"absence run: refused to start: {exc}. Wait for it to finish (or pass --wait "
              "SECONDS); the lock is released when its process ends.", file=sys.stderr)
        return EXIT_USAGE
    print_outcome(outcome, settings)
    return outcome.exit_code


def _demo(args: argparse.Namespace) -> int:
    from pipelines.demo import run_demo

    return run_demo(_settings(args), municipalities=_municipalities(args.municipalities),
                    days=args.days, seed=args.seed)


def _audit(args: argparse.Namespace) -> int:
    from pipelines.audit import audit

    settings = _settings(args)
    findings = audit(settings.warehouse, settings.landing, seeds=settings.seeds,
                     also=[settings.dagster_home_dir])
    for finding in findings:
        print(f"LEAK {finding}", file=sys.stderr)
    print(f"audit of {settings.warehouse}: {len(findings)} finding(s)")
    return EXIT_FAILED if findings else EXIT_OK


def _query(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.query import QueryRefused, connect, published_file

    settings = _settings(args)
    try:
        path = published_file(settings.published, args.region)
    except QueryRefused as exc:
        print(f"absence query: {exc}", file=sys.stderr)
        return EXIT_USAGE if args.region is not None else EXIT_FAILED
    try:
        with connect(path) as con:
            relation = con.sql(args.sql)
            if relation is None:
                return EXIT_OK
            if args.csv:
                relation.to_df().to_csv(sys.stdout, index=False)
            else:
                relation.show(max_rows=200, max_width=200)
    except duckdb.Error as exc:
        print(f"absence query: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
