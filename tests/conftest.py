"""Shared fixtures: a temporary landing zone and warehouse, a key, and a drop builder."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pipelines.config import Settings

TEST_KEY = "test-pseudonym-key-not-secret"

# `make test` hands whole modules to its workers (--dist loadfile, in this order: the Makefile
# turns off xdist's reordering by test count). Starting the longest first keeps one of them
# from starting last while the other workers sit idle. Seconds per module with three workers
# on the 2-core CI machine (sums of `pytest --durations=0`); modules not named take less than
# a minute.
MODULE_SECONDS = {
    "test_engines.py": 750, "test_crash_safety.py": 720, "test_lifecycle.py": 480,
    "test_adversarial.py": 450, "test_profiles.py": 270, "test_end_to_end.py": 300,
    "test_daemon.py": 180, "test_incremental_pupil_periods.py": 300, "test_quality.py": 130,
    "test_privacy.py": 120, "test_pull.py": 80, "test_settings.py": 60,
}


def pytest_collection_modifyitems(items):
    """Longest modules first; tests keep their order within a module (a stable sort)."""
    items.sort(key=lambda item: -MODULE_SECONDS.get(item.path.name, 0))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """Every test gets its own landing/warehouse and a key; nothing touches ./warehouse."""
    monkeypatch.setenv("ABSENCE_PSEUDONYM_KEY", TEST_KEY)
    monkeypatch.setenv("ABSENCE_LANDING", str(tmp_path / "landing"))
    monkeypatch.setenv("ABSENCE_WAREHOUSE", str(tmp_path / "warehouse"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env(landing=tmp_path / "landing", warehouse=tmp_path / "warehouse")


def write_drop(landing: Path, municipality: str, extract_id: str, files: dict[str, tuple[str, str]],
               *, profile: str = "lesson_marks_csv", encoding: str = "utf-8",
               extracted_at: str = "2026-08-27T23:40:00+03:00",
               coverage: tuple[str, str] = ("2026-08-10", "2026-08-27"),
               manifest_overrides: dict | None = None, write_manifest: bool = True) -> Path:
    """Write data files (key -> (file name, text)) and then, last, a correct manifest."""
    folder = landing / municipality / extract_id
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for key, (name, text) in files.items():
        data = text.encode(encoding)
        (folder / name).write_bytes(data)
        rows = max(text.count("\n") - 1, 0) if name.endswith(".csv") else text.count("\n")
        entries[key] = {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "rows": rows}
    manifest = {"municipality_code": municipality, "profile": profile,
                "extracted_at": extracted_at,
                "coverage": {"start": coverage[0], "end": coverage[1]},
                "encoding": encoding, "files": entries}
    manifest.update(manifest_overrides or {})
    if write_manifest:
        (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return folder


STUDENTS = ("oppilaat.csv",
            "oppilas_id;oppijanumero;sukunimi;etunimi;koulu;vuosiluokka;alkaen;paattyen\n"
            "A1;1.2.246.562.24.10000000001;Äijälä;Matti;00101;8;10.8.2026;\n"
            "A2;;Öhman;Åsa;00101;3;10.8.2026;\n")
LESSONS = ("tunnit.csv", "oppilas_id;pvm;tunnit\n"
           "A1;10.8.2026;6\nA1;11.8.2026;6\nA2;10.8.2026;5\nA2;11.8.2026;5\n")
MARKS = ("merkinnat.csv", "oppilas_id;pvm;tunti;merkinta;muokattu\n"
         "A1;10.8.2026;1;SE;10.8.2026 9:00\n"
         "A1;10.8.2026;1;S;12.8.2026 10:15\n"
         "A1;10.8.2026;2;S;10.8.2026 9:00\n"
         "A2;11.8.2026;3;M;11.8.2026 9:00\n")
INTERVENTIONS = ("toimenpiteet.csv", "oppilas_id;pvm;toimenpide;vastuutaho;lisatiedot\n"
                 'A1;11.8.2026;HUOLI;opettaja;"soitettu kotiin; äiti huolissaan"\n')


def csv_files(**replace: tuple[str, str]) -> dict[str, tuple[str, str]]:
    """The four files of a small, valid lesson_marks_csv drop, some optionally replaced."""
    files = {"students": STUDENTS, "lessons": LESSONS, "marks": MARKS,
             "interventions": INTERVENTIONS}
    files.update(replace)
    return files


def assert_every_dbt_unit_test_passes(result, target_path) -> int:
    """The outcome of pipelines.dbt_project.run_unit_tests: exit 0, and every unit test of the
    project (the manifest dbt wrote) passed in this invocation (its run_results.json), so
    none was skipped or left out."""
    output = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, output
    defined = set(json.loads((target_path / "manifest.json").read_text())["unit_tests"])
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    passed = {r["unique_id"] for r in results
              if r["unique_id"].startswith("unit_test.") and r["status"] == "pass"}
    assert defined and passed == defined, (sorted(defined - passed), output)
    return len(defined)
