"""A snapshot of the Dagster definitions (as dagster-open-platform keeps in test_defs.py):
asset keys, groups, dependencies and checks, jobs, sensors and schedules. An accidental change
to the graph shows up here and in review; a deliberate one is recorded with
`UPDATE_SNAPSHOTS=1 make test` (or pytest on this file) and committed with its reason."""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def _graph() -> dict:
    from pipelines.definitions import defs

    repository = defs.get_repository_def()
    graph = repository.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in repository.get_all_jobs()
                       if not j.name.startswith("__")),
        "sensors": sorted(s.name for s in repository.sensor_defs),
        "schedules": sorted((s.name, s.cron_schedule, s.execution_timezone)
                            for s in repository.schedule_defs),
    }


def test_the_definitions_match_their_snapshot():
    current = json.loads(json.dumps(_graph()))
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", "utf-8")
    assert current == json.loads(SNAPSHOT.read_text("utf-8"))


def test_the_graph_runs_landing_to_published():
    """The lineage is one graph: the ingest assets feed dbt's sources, the marts feed
    publishing."""
    assets = _graph()["assets"]
    assert "canonical/students" in assets["stg_canonical__students"]["deps"]
    assert "extract_ledger" in assets["stg_ledger__extracts"]["deps"]
    assert {"absence_rates", "attendance_tiers", "data_freshness"} <= set(
        assets["published_statistics"]["deps"])
    assert assets["extract_ledger"]["checks"] == ["drop_accepted", "rows_valid"]
