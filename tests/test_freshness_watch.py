"""The freshness watch, independent of the nightly build: read from the ledger files by the
wall clock, on its own schedule and job (freshness_job), so a night whose publish job never
ran still warns."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from pipelines.defs.monitoring.checks import ARRIVAL_HOURS, overdue_municipalities
from pipelines.ingest.extract import ingest_drop
from pipelines.ingest.landing import scan_landing
from pipelines.ingest.ledger import read_entries
from tests.conftest import TEST_KEY, csv_files, write_drop


def _load(settings, municipality="091"):
    write_drop(settings.landing, municipality, "20260827T234000", csv_files())
    (drop,) = scan_landing(settings.landing)
    assert ingest_drop(drop, settings, TEST_KEY.encode()).status == "loaded"
    (row,) = read_entries(settings.ledger, municipality)
    return row["finished_at"]


def test_a_municipality_is_overdue_from_the_hour_after_the_window(settings):
    loaded = _load(settings)
    assert overdue_municipalities(settings, now=loaded + timedelta(hours=ARRIVAL_HOURS)) == {}
    late = overdue_municipalities(settings,
                                  now=loaded + timedelta(hours=ARRIVAL_HOURS, minutes=1))
    assert list(late) == ["091"] and "no drop loaded since" in late["091"]


def test_a_quarantined_drop_does_not_count_as_arrived(settings):
    loaded = _load(settings)
    write_drop(settings.landing, "091", "20260828T234000",
               csv_files(students=("oppilaat.csv", "x;y\n1;2\n")),
               extracted_at="2026-08-28T23:40:00+03:00")
    new = [d for d in scan_landing(settings.landing) if d.extract_id == "20260828T234000"]
    assert ingest_drop(new[0], settings, TEST_KEY.encode()).status == "quarantined"
    later = loaded + timedelta(hours=ARRIVAL_HOURS + 2)
    assert list(overdue_municipalities(settings, now=later)) == ["091"]


def test_the_watch_runs_alone_without_the_build(settings):
    _load(settings)
    from pipelines.definitions import defs

    job = defs.resolve_job_def("freshness_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance)
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "drops_arrived" and evaluation.passed
    # Nothing else ran: no dbt, no publishing.
    assert not result.get_asset_materialization_events()
    assert not settings.warehouse_db.exists()
    schedule = defs.resolve_schedule_def("freshness_watch")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 6 * * *",
                                                                     "Europe/Helsinki")


def test_an_unreachable_remote_source_is_named_in_the_overdue_reason(settings):
    import json

    state = settings.warehouse / "pull" / "837.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"fetched": {}, "last_error": "source unreachable "
                                 "(ConnectionError)"}))
    overdue = overdue_municipalities(settings)
    assert overdue == {"837": "expected, but no drop has loaded yet; its remote source: "
                              "source unreachable (ConnectionError)"}
