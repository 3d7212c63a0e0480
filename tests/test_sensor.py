"""The landing sensor requests exactly one run per new complete drop."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.ingest.sensors import landing_sensor
from pipelines.defs.resources import AbsenceSettings
from pipelines.ingest.extract import ingest_drop
from pipelines.ingest.landing import scan_landing
from tests.conftest import TEST_KEY, csv_files, write_drop


def _evaluate(settings, instance):
    resources = {"absence": AbsenceSettings.of(settings)}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        return landing_sensor(context)


def test_one_run_per_complete_drop_and_none_without_manifest(settings):
    write_drop(settings.landing, "091", "20260826T234000", csv_files(),
               extracted_at="2026-08-26T23:40:00+03:00")
    write_drop(settings.landing, "837", "20260826T234000", csv_files())
    write_drop(settings.landing, "564", "20260826T234000", csv_files(), write_manifest=False)
    with dg.instance_for_test() as instance:
        result = _evaluate(settings, instance)
    requests = result.run_requests
    assert sorted(r.partition_key for r in requests) == ["091", "837"]
    assert len({r.run_key for r in requests}) == 2
    assert all(r.run_config["ops"]["ingest_extract"]["config"]["extract_id"] == "20260826T234000"
               for r in requests)
    (add,) = result.dynamic_partitions_requests
    assert sorted(add.partition_keys) == ["091", "837"]


def test_a_loaded_drop_is_not_requested_again_but_a_new_one_is(settings):
    write_drop(settings.landing, "091", "20260826T234000", csv_files())
    for drop in scan_landing(settings.landing):
        ingest_drop(drop, settings, TEST_KEY.encode())
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("municipality", ["091"])
        assert _evaluate(settings, instance).run_requests == []
        write_drop(settings.landing, "091", "20260827T234000", csv_files(),
                   extracted_at="2026-08-27T23:40:00+03:00")
        result = _evaluate(settings, instance)
    assert [r.run_config["ops"]["ingest_extract"]["config"]["extract_id"]
            for r in result.run_requests] == ["20260827T234000"]
    assert result.dynamic_partitions_requests == []


def test_drops_are_requested_oldest_extract_first(settings):
    write_drop(settings.landing, "091", "b-newer", csv_files(),
               extracted_at="2026-08-28T23:40:00+03:00")
    write_drop(settings.landing, "091", "a-older", csv_files(),
               extracted_at="2026-08-27T23:40:00+03:00")
    write_drop(settings.landing, "091", "c-oldest", csv_files(),
               extracted_at="2026-08-26T23:40:00+03:00")
    with dg.instance_for_test() as instance:
        result = _evaluate(settings, instance)
    assert [r.run_config["ops"]["ingest_extract"]["config"]["extract_id"]
            for r in result.run_requests] == ["c-oldest", "a-older", "b-newer"]
