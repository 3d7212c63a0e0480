"""A night with nothing new keeps the publication without a build (pipelines/publish/
unchanged.py): what counts as new, on real files in a temporary warehouse. The whole run that
skips is in tests/test_end_to_end.py (`a second run with nothing new changes nothing`)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from pipelines.config import Settings
from pipelines.ingest.extract import ensure_layout
from pipelines.publish import unchanged

ROOT = Path(__file__).parents[1]


@pytest.fixture
def published(tmp_path) -> Settings:
    """A warehouse with its layout, one loaded table file and a publication recorded."""
    project = tmp_path / "dbt_project"
    shutil.copytree(ROOT / "dbt_project", project,
                    ignore=shutil.ignore_patterns("target", "logs"))
    settings = Settings(landing=tmp_path / "landing", warehouse=tmp_path / "warehouse",
                        dbt_project_dir=project)
    ensure_layout(settings)
    (settings.canonical / "attendance" / "091").mkdir(parents=True)
    (settings.canonical / "attendance" / "091" / "load-1.parquet").write_bytes(b"rows")
    (settings.published / "regions").mkdir(parents=True)
    (settings.published / "national.duckdb").write_bytes(b"national")
    (settings.published / "regions" / "01.duckdb").write_bytes(b"region")
    unchanged.record_publication(settings, unchanged.fingerprint(settings))
    return settings


def _kept(settings: Settings, *, full_refresh: bool = False) -> bool:
    return unchanged.unchanged_since_publication(
        settings, unchanged.fingerprint(settings), full_refresh=full_refresh)


def test_nothing_new_keeps_the_publication(published):
    assert unchanged.fingerprint(published) == unchanged.fingerprint(published)
    assert _kept(published)


def test_no_recorded_publication_builds(tmp_path):
    settings = Settings(landing=tmp_path / "landing", warehouse=tmp_path / "warehouse")
    ensure_layout(settings)
    (settings.published).mkdir(parents=True)
    (settings.published / "national.duckdb").write_bytes(b"national")
    assert not _kept(settings)


@pytest.mark.parametrize("change", [
    "a new load", "a quarantined drop", "a rewritten load", "a remote source's status"])
def test_a_change_to_what_dbt_reads_builds(published, change):
    warehouse = published.warehouse
    if change == "a new load":
        (warehouse / "canonical" / "attendance" / "091" / "load-2.parquet").write_bytes(b"more")
    elif change == "a quarantined drop":
        (warehouse / "quarantine" / "091" / "load-3").mkdir(parents=True)
        (warehouse / "quarantine" / "091" / "load-3" / "reason.json").write_text("{}")
    elif change == "a rewritten load":
        path = warehouse / "canonical" / "attendance" / "091" / "load-1.parquet"
        path.write_bytes(b"ROWS")
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    else:
        (warehouse / "pull" / "status-1.parquet").write_bytes(b"unreadable")
    assert not _kept(published)


def test_a_changed_seed_or_model_builds(published):
    seeds = published.dbt_project_dir / "seeds" / "code_maps" / "absence_code_map.csv"
    with seeds.open("a") as handle:
        handle.write("lesson_marks_csv,092,SAIR,illness\n")
    assert not _kept(published)


def test_changed_settings_or_local_ladders_build(published, tmp_path):
    stricter = dataclasses.replace(published, suppression_threshold=30)
    assert not _kept(stricter)
    ladders = tmp_path / "ladders.csv"
    ladders.write_text("municipality_code,threshold_lessons,label\n091,12,12 h\n", "utf-8")
    laddered = dataclasses.replace(published, local_thresholds=ladders)
    unchanged.record_publication(laddered, unchanged.fingerprint(laddered))
    assert _kept(laddered)
    ladders.write_text("municipality_code,threshold_lessons,label\n091,24,24 h\n", "utf-8")
    assert not _kept(laddered)


@pytest.mark.parametrize("change", ["deleted", "replaced", "added"])
def test_a_publication_not_as_it_was_written_is_written_again(published, change):
    regions = published.published / "regions"
    if change == "deleted":
        (regions / "01.duckdb").unlink()
    elif change == "replaced":
        (regions / "01.duckdb").write_bytes(b"someone else's")
    else:
        (regions / "02.duckdb").write_bytes(b"region")
    assert not _kept(published)


def test_full_refresh_and_the_wall_clock_always_build(published):
    assert not _kept(published, full_refresh=True)
    wall = dataclasses.replace(published, freshness_clock="wall")
    unchanged.record_publication(wall, unchanged.fingerprint(wall))
    assert not _kept(wall)


def test_a_build_forgets_the_old_fingerprint_first(published):
    unchanged.forget_publication(published)
    assert not _kept(published)


def test_a_bad_local_ladder_builds_so_the_build_can_say_why(published, tmp_path):
    ladders = tmp_path / "ladders.csv"
    ladders.write_text("municipality_code,threshold_lessons,label\n91,abc,x\n", "utf-8")
    bad = dataclasses.replace(published, local_thresholds=ladders)
    assert not _kept(bad)
    assert unchanged.fingerprint(bad) != unchanged.fingerprint(bad)
