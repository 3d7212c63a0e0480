"""Publish the suppressed statistics: national and per-region DuckDB files plus Parquet.

The quality gate sits between suppression and writing: `prepare` reads and suppresses the
marts, the Great Expectations suites (`quality/`) validate exactly those tables, and only when
no blocking suite failed does `write` rename the new files into place. Each suite is reported
as an asset check of `published_statistics`.
"""

import contextlib
import time
from datetime import timedelta

import dagster as dg
import duckdb

from pipelines import alerts, locks
from pipelines.defs.resources import OWNERS, AbsenceSettings, tags
from pipelines.defs.transform.assets import WAREHOUSE_POOL
from pipelines.marts import MartsMissing
from pipelines.publish.publisher import prepare, write
from pipelines.tables import PUBLISHED_TABLES
from quality.checks import CHECKS

PUBLISHED_KEY = dg.AssetKey("published_statistics")
MART_KEYS = [dg.AssetKey(name) for name in PUBLISHED_TABLES]
MAX_FAILURES_SHOWN = 20


@dg.asset(
    deps=MART_KEYS, pool=WAREHOUSE_POOL, group_name="publish", kinds={"duckdb", "parquet"},
    owners=OWNERS, tags=tags("publish"),
    # Published by 06:00 Helsinki every day (the build starts at 05:00): Dagster flags the
    # asset when it was not materialised in the 24 hours before that deadline.
    freshness_policy=dg.FreshnessPolicy.cron(deadline_cron="0 6 * * *",
                                             lower_bound_delta=timedelta(hours=24),
                                             timezone="Europe/Helsinki"),
    check_specs=[dg.AssetCheckSpec(c.name, asset=PUBLISHED_KEY, description=c.description,
                                   blocking=c.blocking) for c in CHECKS],
)
def published_statistics(context: dg.AssetExecutionContext, absence: AbsenceSettings):
    """`published/national.duckdb`, `published/regions/RR.duckdb` (one per region code RR) and
    `published/parquet/`, each written to a temporary file and renamed into place, only after
    the blocking quality checks (Great Expectations suites on the suppressed tables) passed."""
    settings = absence.settings()
    with locks.hold(locks.lock_path(settings.warehouse, "warehouse")):
        yield from _publish(context, settings)


def _infrastructure_failure(context: dg.AssetExecutionContext, error: Exception) -> dg.Failure:
    """A failure of the machine, not of the data: said so in the Runs list (a run tag), in
    the error and the alert, so it never reads like a quality block. The checks were not
    evaluated (Dagster shows them as not executed), none failed."""
    context.instance.add_run_tags(context.run_id, {"absence/failure": "infrastructure"})
    return dg.Failure(
        description=(f"Infrastructure failure before the quality checks could run "
                     f"({type(error).__name__}: {str(error)[:500]}); no data check failed; "
                     "nothing was published, the previous files stay in place."),
        metadata={"failure": "infrastructure", "error_type": type(error).__name__})


def _publish(context: dg.AssetExecutionContext, settings):
    from quality.runner import save_state, validate

    seconds: dict[str, float] = {}
    try:
        with _timed(seconds, "suppress"):
            prepared = prepare(settings)
        with _timed(seconds, "quality_gate"):
            report = validate(prepared.tables, settings, threshold=prepared.threshold,
                              run_name=context.run_id)
    except (OSError, duckdb.Error, locks.LockBusy, MartsMissing) as error:
        raise _infrastructure_failure(context, error) from error
    # Relative to $ABSENCE_WAREHOUSE: a file:// URL of the Dagster host opens nothing in the
    # browser of whoever looks at the UI. summary.html is our own page and opens offline.
    docs_url = dg.MetadataValue.path(str(report.data_docs.relative_to(settings.warehouse)))
    checks = [_check_result(outcome, docs_url, report, settings)
              for outcome in report.checks.values()]

    if report.blocking_failures:
        context.instance.add_run_tags(context.run_id, {"absence/failure": "quality_gate"})
        yield from checks
        failures = [f for name in report.blocking_failures
                    for f in report.checks[name].failures][:MAX_FAILURES_SHOWN]
        alerts.send(alerts.record(
            "publication_blocked",
            f"the quality gate blocked publication ({', '.join(report.blocking_failures)}); "
            "the previously published files stay in place",
            failed_checks=report.blocking_failures, run_id=context.run_id), settings)
        raise dg.Failure(
            description=(f"Quality gate failed ({', '.join(report.blocking_failures)}): nothing "
                         "was published; the previously published files stay in place. "
                         f"Data Docs: {report.data_docs}"),
            metadata={"failed_checks": dg.MetadataValue.json(report.blocking_failures),
                      "failures": dg.MetadataValue.json(failures),
                      "data_docs": docs_url},
        )
    for name in report.warnings:
        context.log.warning(f"Quality check {name} failed (warning only); publishing anyway.")

    with _timed(seconds, "write"):
        result = write(prepared, settings)
    save_state(report, settings, context.run_id)
    yield dg.MaterializeResult(
        metadata={
            "national": dg.MetadataValue.path(str(result.national)),
            "regions": dg.MetadataValue.json({k: str(v) for k, v in result.regions.items()}),
            "rows": dg.MetadataValue.json(result.rows),
            "suppressed_rows": dg.MetadataValue.json(result.suppressed),
            **{f"rows: {name}": n for name, n in result.rows.items()},
            **{f"suppressed: {name}": n for name, n in result.suppressed.items()},
            "national_rates": dg.MetadataValue.md(result.preview),
            "data_docs": docs_url,
            "data_docs_summary": dg.MetadataValue.path(str(
                report.data_docs.with_name("summary.html").relative_to(settings.warehouse))),
            "quality": dg.MetadataValue.md(_summary(report)),
            "seconds": dg.MetadataValue.json(seconds),
        },
        check_results=checks,
    )


@contextlib.contextmanager
def _timed(seconds: dict[str, float], step: str):
    """Wall seconds of one step of publishing, shown with the materialisation (and read by
    the benchmark): where a slow night's publishing went."""
    start = time.perf_counter()
    yield
    seconds[step] = round(time.perf_counter() - start, 3)


def _check_result(outcome, docs_url, report, settings) -> dg.AssetCheckResult:
    metadata = {
        "suites": dg.MetadataValue.md(
            "| GX suite | expectations | result |\n|---|---|---|\n" + "\n".join(
                f"| `{s.suite}` | {s.expectations} | {'passed' if s.success else 'FAILED'} |"
                for s in outcome.suites)),
        "failed_expectations": len(outcome.failures),
        "data_docs": docs_url,
        "data_docs_summary": dg.MetadataValue.path(str(
            report.data_docs.with_name("summary.html").relative_to(settings.warehouse))),
    }
    if outcome.failures:
        metadata["failures"] = dg.MetadataValue.json(outcome.failures[:MAX_FAILURES_SHOWN])
    if outcome.check.name == "row_counts_stable":
        metadata["row_counts"] = dg.MetadataValue.json(report.row_counts)
        metadata["previous_row_counts"] = dg.MetadataValue.json(
            (report.previous or {}).get("row_counts", {}))
    return dg.AssetCheckResult(
        asset_key=PUBLISHED_KEY, check_name=outcome.check.name, passed=outcome.passed,
        severity=(dg.AssetCheckSeverity.ERROR if outcome.check.blocking
                  else dg.AssetCheckSeverity.WARN),
        description=outcome.check.description, metadata=metadata,
    )


def _summary(report) -> str:
    lines = ["| check | blocking | result |", "|---|---|---|"]
    lines += [f"| {name} | {'yes' if c.check.blocking else 'no (warns)'} | "
              f"{'passed' if c.passed else 'FAILED'} |" for name, c in report.checks.items()]
    return "\n".join(lines)


REPORTS_KEY = dg.AssetKey("published_reports")


@dg.asset(
    key=REPORTS_KEY, deps=[PUBLISHED_KEY], pool=WAREHOUSE_POOL, group_name="publish",
    kinds={"csv", "xlsx", "html"}, owners=OWNERS, tags=tags("publish"),
)
def published_reports(context: dg.AssetExecutionContext, absence: AbsenceSettings):
    """Files an official opens without SQL (DESIGN §8.1), read back from the published files:
    `published/exports/national/` and `exports/regions/<rr>/` (one CSV per table in Finnish
    Excel's dialect and a workbook with a Selite sheet), and `published/reports/national.html`
    and `reports/regions/<rr>.html` (a self-contained page with charts, in Finnish). Each file
    is written aside and renamed into place."""
    from pipelines.publish.exports import write_exports
    from pipelines.publish.report import write_reports

    settings = absence.settings()
    seconds: dict[str, float] = {}
    with locks.hold(locks.lock_path(settings.warehouse, "warehouse")):
        with _timed(seconds, "exports"):
            exports = write_exports(settings)
        with _timed(seconds, "reports"):
            reports = write_reports(settings.published, settings.suppression_threshold)
    return dg.MaterializeResult(metadata={
        "seconds": dg.MetadataValue.json(seconds),
        "exports": len(exports),
        "reports": dg.MetadataValue.json([str(p.relative_to(settings.published))
                                          for p in reports]),
        "national_report": dg.MetadataValue.path(
            str(settings.published / "reports" / "national.html")),
    })
