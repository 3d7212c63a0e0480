"""Validate the suppressed tables with Great Expectations before they are published.

GX runs in an ephemeral context with its pandas data source (GX cannot validate DuckDB through
SQLAlchemy here, DESIGN §2); the tables are small aggregates. Everything GX writes goes under
`$ABSENCE_WAREHOUSE/quality/`:

- `data_docs/index.html`: the Data Docs of this run (every suite and its validation result),
  rebuilt on every run, also when a blocking check stops publishing; `data_docs/summary.html`
  lists the same without the scripts GX's index loads from CDNs (readable offline);
- `row_counts.json`: the row counts and municipalities of the last *published* night, the
  baseline of `row_counts_stable` and `expected_municipalities` (saved only after a publish).
"""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.config import Settings
from quality.checks import CHECKS, QualityCheck

MAX_EXAMPLES = 5


def quality_dir(settings: Settings) -> Path:
    return settings.warehouse / "quality"


def data_docs_index(settings: Settings) -> Path:
    return quality_dir(settings) / "data_docs" / "index.html"


def state_path(settings: Settings) -> Path:
    return quality_dir(settings) / "row_counts.json"


@dataclass
class SuiteOutcome:
    suite: str
    frame: str
    success: bool
    expectations: int
    failures: list[dict] = field(default_factory=list)


@dataclass
class CheckOutcome:
    check: QualityCheck
    suites: list[SuiteOutcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(s.success for s in self.suites)

    @property
    def failures(self) -> list[dict]:
        return [f for s in self.suites for f in s.failures]


@dataclass
class QualityReport:
    checks: dict[str, CheckOutcome]
    data_docs: Path
    row_counts: dict[str, int]
    municipalities: list[str]
    previous: dict | None

    @property
    def blocking_failures(self) -> list[str]:
        return [n for n, c in self.checks.items() if c.check.blocking and not c.passed]

    @property
    def warnings(self) -> list[str]:
        return [n for n, c in self.checks.items() if not c.check.blocking and not c.passed]


def load_state(settings: Settings) -> dict | None:
    """Last published night's row counts, or None on the first night (or an unreadable file,
    which the next publish rewrites)."""
    try:
        return json.loads(state_path(settings).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def save_state(report: QualityReport, settings: Settings, run_id: str = "") -> Path:
    """Record what was just published as the baseline for the next night (atomic rename)."""
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps({
        "published_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run_id,
        "row_counts": report.row_counts,
        "municipalities": report.municipalities,
    }, indent=2), "utf-8")
    os.replace(tmp, path)
    return path


def expected_municipalities(previous: dict | None, seed: Path) -> set[str]:
    """The dbt seed's list plus every municipality published the previous night."""
    codes: set[str] = set()
    if seed.exists():
        with seed.open(encoding="utf-8", newline="") as handle:
            codes |= {row["municipality_code"].strip().zfill(3)
                      for row in csv.DictReader(handle) if row.get("municipality_code")}
    return codes | set((previous or {}).get("municipalities", []))


def validate(tables: Mapping[str, pd.DataFrame], settings: Settings, *,
             threshold: int | None = None, run_name: str = "") -> QualityReport:
    """Run every suite on the (suppressed) tables, build the Data Docs, return the outcomes.

    Nothing here decides whether to publish; the caller stops on `report.blocking_failures`.
    """
    import great_expectations as gx

    from quality.suites import KEY_COLUMNS, build_suites, check_frames

    previous = load_state(settings)
    expected = expected_municipalities(
        previous, settings.seeds / "config" / "expected_municipalities.csv")
    frames = check_frames(tables, expected)
    suites = build_suites(settings.suppression_threshold if threshold is None else threshold,
                          (previous or {}).get("row_counts", {}), settings.row_count_tolerance)

    docs_dir = data_docs_index(settings).parent
    build_dir = docs_dir.with_name(f".data_docs.tmp-{os.getpid()}")
    # Leftovers of a crashed build (publishing is serialised by the `warehouse` pool).
    for stale in docs_dir.parent.glob(".data_docs.*"):
        shutil.rmtree(stale, ignore_errors=True)
    context = _context(build_dir)
    source = context.data_sources.add_pandas("published")
    batches = {name: source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(
        "whole_table") for name in frames}
    run_id = gx.RunIdentifier(run_name=run_name or "manual", run_time=datetime.now(UTC))

    checks = {c.name: CheckOutcome(c) for c in CHECKS}
    for spec in suites:
        suite = context.suites.add(spec.suite())
        definition = context.validation_definitions.add(gx.ValidationDefinition(
            name=spec.name, data=batches[spec.frame], suite=suite))
        result = definition.run(batch_parameters={"dataframe": frames[spec.frame]},
                                result_format="SUMMARY", run_id=run_id)
        checks[spec.check].suites.append(SuiteOutcome(
            suite=spec.name, frame=spec.frame, success=bool(result.success),
            expectations=len(result.results),
            failures=[_failure(spec.name, r, frames[spec.frame], KEY_COLUMNS.get(spec.frame, []))
                      for r in result.results if not r.success]))
    context.build_data_docs(site_names=["quality"])
    _write_summary(build_dir, checks, run_id.run_name)
    _swap_into_place(build_dir, docs_dir)

    return QualityReport(
        checks=checks, data_docs=data_docs_index(settings),
        row_counts={name: len(frame) for name, frame in tables.items()},
        municipalities=sorted(_published_municipalities(tables)),
        previous=previous)


def _context(docs_dir: Path):
    """An ephemeral GX context (stores in memory) whose only Data Docs site is `docs_dir`."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites={"quality": {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }},
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _write_summary(docs_dir: Path, checks: Mapping[str, CheckOutcome], run_name: str) -> None:
    """`summary.html`: GX's index draws its tables with scripts from CDNs, which a machine
    without internet cannot load; this page lists every suite and links its result, no
    scripts needed."""
    rows = []
    for outcome in checks.values():
        for suite in outcome.suites:
            pages = sorted((docs_dir / "validations").glob(
                "/".join(suite.suite.split(".")) + "/**/*.html"))
            link = (f'<a href="{html.escape(pages[0].relative_to(docs_dir).as_posix())}">'
                    f"{html.escape(suite.suite)}</a>") if pages else html.escape(suite.suite)
            rows.append(f"<tr><td>{html.escape(outcome.check.name)}</td><td>"
                        f"{'blocking' if outcome.check.blocking else 'warning'}</td>"
                        f"<td>{link}</td><td>{suite.expectations}</td>"
                        f"<td>{'passed' if suite.success else '<b>FAILED</b>'}</td></tr>")
    (docs_dir / "summary.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Quality checks</title>"
        f"<h1>Quality checks of run {html.escape(run_name)}</h1>"
        "<p>Full Data Docs: <a href='index.html'>index.html</a></p>"
        "<table border='1' cellpadding='4'><tr><th>check</th><th>on failure</th>"
        "<th>GX suite</th><th>expectations</th><th>result</th></tr>"
        + "".join(rows) + "</table>", "utf-8")


def _swap_into_place(built: Path, target: Path) -> None:
    """Replace the previous Data Docs folder with the new one (two renames, then cleanup)."""
    old = target.with_name(f".data_docs.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(built, target)
    shutil.rmtree(old, ignore_errors=True)


def _failure(suite: str, result, frame: pd.DataFrame, keys: list[str]) -> dict:
    """A failed expectation, with up to MAX_EXAMPLES offending rows named by their keys."""
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items()
              if k in ("column", "min_value", "max_value", "value_set") and v is not None}
    if config.kwargs.get("row_condition") is not None:
        kwargs["row_condition"] = _condition(config.kwargs["row_condition"])
    details = result.result or {}
    failure = {"suite": suite, "expectation": config.type, **kwargs}
    if "unexpected_count" in details:
        failure["unexpected_count"] = details["unexpected_count"]
    if "observed_value" in details:
        failure["observed_value"] = details["observed_value"]
    exception = (result.exception_info or {}).get("exception_message")
    if exception:
        failure["error"] = str(exception)[:500]
    rows = (details.get("partial_unexpected_index_list") or [])[:MAX_EXAMPLES]
    columns = [c for c in keys if c in frame.columns]
    if config.kwargs.get("column") in frame.columns:
        columns.append(config.kwargs["column"])
    if rows and columns:
        failure["examples"] = [
            {c: _plain(frame.at[i, c]) for c in columns} for i in rows if i in frame.index]
    return _jsonable(failure)


def _condition(condition) -> str:
    """`suppressed == False` rather than GX's serialised form."""
    if isinstance(condition, dict) and isinstance(condition.get("column"), dict):
        column = condition["column"].get("name")
        if "is_null" in condition:
            return f"{column} is {'null' if condition['is_null'] else 'not null'}"
        return f"{column} {condition.get('operator')} {condition.get('parameter')!r}"
    return str(condition)


def _plain(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _published_municipalities(tables: Mapping[str, pd.DataFrame]) -> Iterable[str]:
    rates = tables["absence_rates"]
    return set(rates.loc[rates["level"] == "municipality", "municipality_code"].dropna()
               .astype(str))
