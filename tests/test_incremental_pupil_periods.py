"""int_pupil_periods is incremental by (municipality, school year), seen through Dagster.

The dbt assets of the real definitions (`pipelines.definitions.defs`, `absence_dbt_assets`) are
materialised on a small real warehouse: a first build, a second one after 091 delivers a
correction (837 delivers nothing), then a full refresh. A row tagged after the first build
survives the second exactly when its partition was not rebuilt (the trick of
tests/test_lifecycle.py).
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pipelines.config import Settings
from pipelines.ingest.extract import ensure_layout, ingest_drop
from pipelines.ingest.landing import Drop
from tests.conftest import TEST_KEY
from tests.lifecycle_helpers import drop, drop_lines, night, rewrite, sim

MARK = "untouched-since-first-build"
PUPIL_PERIODS = dg.AssetKey("int_pupil_periods")


def _ingest(settings: Settings, folder) -> None:
    entry = ingest_drop(Drop(folder.parent.name, folder.name, folder), settings,
                        TEST_KEY.encode())
    assert entry.status == "loaded", entry.reason


def _build(defs, dbt_assets, settings: Settings, *, full_refresh: bool = False) -> None:
    """Materialise int_pupil_periods and everything it is built from (a `dbt build` of that
    selection) with the resources of the real definitions."""
    from pipelines.defs.resources import AbsenceSettings

    resources = {**defs.resources, "absence": AbsenceSettings.of(settings)}
    result = dg.materialize(
        [dbt_assets],
        selection=dg.AssetSelection.assets(PUPIL_PERIODS).upstream(),
        resources=resources,
        run_config={"ops": {dbt_assets.op.name: {"config": {"full_refresh": full_refresh}}}},
        raise_on_error=False,
    )
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert PUPIL_PERIODS in materialized


def _query(settings: Settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _mark_one_row_per_municipality(settings: Settings) -> dict[str, str]:
    """Tag one pupil period of each municipality (extract_id, which nothing downstream of the
    tag reads); return the tagged rows' real extract ids to put back later."""
    with duckdb.connect(str(settings.warehouse_db)) as con:
        con.execute("""
            create temp table marked as
            select municipality_code, arg_min(student_key, period_end) as student_key,
                   min(period_end) as period_end, arg_min(extract_id, period_end) as extract_id
            from int_pupil_periods group by municipality_code""")
        con.execute(f"""
            update int_pupil_periods set extract_id = '{MARK}'
            where (municipality_code, student_key, period_end) in (
                select (municipality_code, student_key, period_end) from marked)""")
        return dict(con.execute("select municipality_code, extract_id from marked").fetchall())


def _unmark(settings: Settings, extract_ids: dict[str, str]) -> None:
    with duckdb.connect(str(settings.warehouse_db)) as con:
        for municipality, extract_id in extract_ids.items():
            con.execute("update int_pupil_periods set extract_id = ? "
                        "where extract_id = ? and municipality_code = ?",
                        [extract_id, MARK, municipality])


def _marked(settings: Settings) -> set[str]:
    return {m for (m,) in _query(settings, "select municipality_code from int_pupil_periods "
                                           f"where extract_id = '{MARK}'")}


def _fingerprints(settings: Settings) -> dict[str, str]:
    return dict(_query(settings, "select municipality_code, partition_fingerprint "
                                 "from int_pupil_period_partitions"))


def _illness_from(settings: Settings, start) -> list[tuple]:
    """091's illness lessons from `start` on, per extract."""
    return _query(settings, f"""
        select extract_id, sum(illness_lessons) from int_pupil_periods
        where municipality_code = '091' and period_end >= date '{start}'
        group by extract_id""")


def _pupil_periods(settings: Settings) -> list[tuple]:
    return _query(settings, "select * from int_pupil_periods order by all")


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    settings = Settings(landing=root / "landing", warehouse=root / "warehouse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ABSENCE_PSEUDONYM_KEY", TEST_KEY)
        mp.setenv("ABSENCE_LANDING", str(settings.landing))
        mp.setenv("ABSENCE_WAREHOUSE", str(settings.warehouse))
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        # The selection is int_pupil_periods and its upstream only: run the dbt tests whose
        # parents are all selected, not those that also read the marts (not built here).
        mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
        ensure_layout(settings)

        # The manifest must match the SQL on disk before the definitions are imported
        # (prepare_if_dev() does nothing under pytest).
        from pipelines.dbt_project import prepare_manifest

        prepare_manifest(settings)
        from pipelines.definitions import defs
        from pipelines.defs.transform.assets import absence_dbt_assets

        sims = {"091": sim("091", days=10, pupils=30, seed=91),
                "837": sim("837", days=10, pupils=30, seed=837)}
        _ingest(settings, drop(sims["091"], "lesson_marks_csv", settings.landing))
        _ingest(settings, drop(sims["837"], "daily_summary_jsonl", settings.landing))
        _build(defs, absence_dbt_assets, settings)
        first_fingerprints = _fingerprints(settings)
        days = sims["091"].days
        window_start = days[5].item()
        illness_before = _illness_from(settings, window_start)
        marked = _mark_one_row_per_municipality(settings)
        assert _marked(settings) == {"091", "837"}

        # 091 re-sends its last five days without any illness markings; 837 sends nothing.
        correction = drop(sims["091"], "lesson_marks_csv", settings.landing, first=5,
                          extracted=night(days[-1], 23, 59), extract_id="correction")
        rewrite(correction, "marks", drop_lines(lambda line: ";S;" in line))
        _ingest(settings, correction)
        _build(defs, absence_dbt_assets, settings)
        state = {"settings": settings, "first_fingerprints": first_fingerprints,
                 "second_fingerprints": _fingerprints(settings),
                 "marked_after_second": _marked(settings),
                 "correction_start": window_start, "illness_before": illness_before}
        _unmark(settings, {m: marked[m] for m in state["marked_after_second"]})
        state["incremental"] = _pupil_periods(settings)

        _build(defs, absence_dbt_assets, settings, full_refresh=True)
        state["marked_after_full_refresh"] = _marked(settings)
        state["full_refresh"] = _pupil_periods(settings)
    return state


def test_only_the_partition_whose_inputs_changed_gets_a_new_fingerprint(builds):
    first, second = builds["first_fingerprints"], builds["second_fingerprints"]
    assert first.keys() == second.keys() == {"091", "837"}
    assert second["837"] == first["837"]
    assert second["091"] != first["091"]


def test_a_partition_whose_inputs_did_not_change_keeps_its_rows(builds):
    # 837's tagged row survived the second build: its partition was not rebuilt. 091's did
    # not: its partition was deleted and built again.
    assert builds["marked_after_second"] == {"837"}


def test_the_changed_partition_is_rebuilt_from_the_correction(builds):
    settings, start = builds["settings"], builds["correction_start"]
    ((first_extract, illness_before),) = builds["illness_before"]
    assert first_extract != "correction" and illness_before > 0
    assert _illness_from(settings, start) == [("correction", 0)]
    # Days before the correction's window stay with the first extract.
    assert _query(settings, f"""
        select distinct extract_id from int_pupil_periods
        where municipality_code = '091' and period_end < date '{start}'""") == [(first_extract,)]


def test_the_incremental_result_equals_a_full_refresh(builds):
    assert builds["marked_after_full_refresh"] == set()
    assert builds["incremental"] == builds["full_refresh"]
