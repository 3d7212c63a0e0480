"""Every drop is hostile input (DESIGN §3, §4.4, §9): one night of hostile drops, tried the way
a hostile municipality or a careless operator would, on real files and the real pipeline.

Night 1 loads two honest municipalities. Night 2 brings a new honest drop of 091 and, each
under its own municipality, one drop of every hostile kind below, and runs `absence run` as a
real process (umask 022, as an operator's shell has it). For each case the test checks its
property: nothing leaked (not in the ledger, the quarantine records, the published files, the
terminal or Dagster's storage), nothing executed, the other municipalities published, a clear
reason that names file/row/column/rule, and the exit code.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from pipelines.audit import audit
from pipelines.config import Settings
from pipelines.ingest import ledger
from pipelines.orchestrate import run_pipeline
from tests.conftest import TEST_KEY
from tests.lifecycle_helpers import drop, night, rewrite, sim

NAME = "Turunen Ella"  # a pupil's name, copied into a kept column
HETU = "131052-308T"  # a valid henkilötunnus, used as a column header
INJECTION = "x'; copy (select 1) to 'INJECTED.csv'; select '1"
HOSTILE_FILE = "x'; copy (select 2) to 'INJECTED2.csv'; --.csv"

# municipality -> (what the drop does, expected status, words the reason must hold)
CASES = {
    "name_in_kept_column": ("837", "quarantined", ["koulu", "school code is not 5 digits"]),
    "sql_in_folder_name": ("049", "quarantined", ["not a valid extract id"]),
    "sql_in_file_name": ("092", "loaded", []),
    "deep_manifest": ("106", "quarantined", ["manifest.json", "nested too deeply"]),
    "excel_cell_at_xfd1048576": ("564", "quarantined", ["beyond column BL"]),
    "more_absent_than_scheduled": ("179", "loaded", []),
    "extracted_in_2062": ("398", "quarantined", ["extracted_at is in the future"]),
    "identity_code_as_header": ("405", "loaded", []),
    "repeated_interventions": ("444", "loaded", []),
    "integer_municipality_code": ("297", "quarantined", ["municipality_code",
                                                         "not a 3-digit string"]),
    "json_line_too_long": ("286", "quarantined", ["line is longer than"]),
    "two_schools_on_one_day": ("609", "loaded", []),
}


def _csv_lines(folder: Path, name: str) -> list[str]:
    return (folder / name).read_text("utf-8").splitlines(keepends=True)


def _set_manifest(folder: Path, change) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), "utf-8")


def _hostile_drops(landing: Path) -> dict[str, Path]:
    """One drop of each hostile kind, each in its own municipality; returns case -> folder."""
    folders = {}

    def honest(case: str, profile: str, **kw) -> Path:
        code = CASES[case][0]
        folders[case] = drop(sim(code, days=10, pupils=40, seed=int(code)), profile, landing,
                             **kw)
        return folders[case]

    # Names in the school column of every pupil: all rows rejected, the drop quarantined.
    folder = honest("name_in_kept_column", "lesson_marks_csv",
                    extracted=night(sim("837", days=12).days[-1]))

    def name_as_school(data: bytes) -> bytes:
        lines = data.decode("utf-8").splitlines(keepends=True)
        out = [lines[0]]
        for line in lines[1:]:
            cells = line.split(";")
            cells[2] = NAME
            out.append(";".join(cells))
        return "".join(out).encode("utf-8")
    rewrite(folder, "students", name_as_school)

    # An otherwise valid drop in a folder whose name is SQL.
    folder = honest("sql_in_folder_name", "lesson_marks_csv")
    hostile = folder.parent / INJECTION
    folder.rename(hostile)
    folders["sql_in_folder_name"] = hostile

    # A file name that is SQL: a valid drop, loaded, and nothing runs.
    folder = honest("sql_in_file_name", "lesson_marks_csv")
    (folder / "oppilaat.csv").rename(folder / HOSTILE_FILE)
    _set_manifest(folder, lambda m: m["files"]["students"].update(path=HOSTILE_FILE))

    folder = honest("deep_manifest", "lesson_marks_csv")
    (folder / "manifest.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)

    # One cell at the far corner of the sheet: the Excel reader would allocate 17e9 cells.
    folder = honest("excel_cell_at_xfd1048576", "weekly_totals_xlsx")
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    path = folder / manifest["files"]["workbook"]["path"]
    book = load_workbook(path)
    book["Oppilaat"]["XFD1048576"] = 1
    book.save(path)
    _set_manifest(folder, lambda m: m["files"]["workbook"].update(
        sha256=hashlib.sha256(path.read_bytes()).hexdigest()))

    # One daily summary claims 5 absent lessons of 1 scheduled: rejected at ingest.
    folder = honest("more_absent_than_scheduled", "daily_summary_jsonl")

    def impossible(data: bytes) -> bytes:
        lines = data.decode("utf-8").splitlines(keepends=True)
        record = json.loads(lines[0])
        record["scheduled_lessons"], record["absences"] = 1, {"ILLNESS": 5}
        lines[0] = json.dumps(record) + "\n"
        return "".join(lines).encode("utf-8")
    rewrite(folder, "attendance", impossible)

    folder = honest("extracted_in_2062", "lesson_marks_csv")
    _set_manifest(folder, lambda m: m.update(extracted_at="2062-08-21T23:40:00+03:00"))

    folder = honest("identity_code_as_header", "lesson_marks_csv")
    rewrite(folder, "students", lambda b: b.replace(b"sukunimi", HETU.encode(), 1))

    # Every intervention row twice: each counts once.
    folder = honest("repeated_interventions", "lesson_marks_csv")
    rewrite(folder, "interventions", lambda b: b + b"".join(
        b.splitlines(keepends=True)[1:]))

    folder = honest("integer_municipality_code", "lesson_marks_csv")
    _set_manifest(folder, lambda m: m.update(municipality_code=297))

    folder = honest("json_line_too_long", "daily_summary_jsonl")
    rewrite(folder, "attendance",
            lambda b: b + json.dumps({"student_ref": "x" * (2 << 20)}).encode() + b"\n")

    # The first pupil enrolled at a second school over the same days.
    folder = honest("two_schools_on_one_day", "lesson_marks_csv")

    def second_school(data: bytes) -> bytes:
        lines = data.decode("utf-8").splitlines(keepends=True)
        cells = lines[1].split(";")
        cells[2] = "99999" if cells[2] != "99999" else "99998"
        return "".join([*lines, ";".join(cells)]).encode("utf-8")
    rewrite(folder, "students", second_school)

    # A valid-looking drop under 999, which is no municipality of the reference classification.
    spare = landing.parent / "spare"
    folder = drop(sim("020", days=10, pupils=40), "lesson_marks_csv", spare, extract_id="unknown")
    _set_manifest(folder, lambda m: m.update(municipality_code="999"))
    (landing / "999").mkdir()
    folder.rename(landing / "999" / "unknown")
    shutil.rmtree(spare)
    return folders


@pytest.fixture(scope="module")
def hostile_night(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    os.environ["ABSENCE_PSEUDONYM_KEY"] = TEST_KEY
    os.environ["DAGSTER_HOME"] = str(root / "dagster")
    settings = Settings.from_env(landing=root / "landing", warehouse=root / "warehouse")
    drop(sim("091", days=10, pupils=40), "lesson_marks_csv", settings.landing, last=7)
    drop(sim("837", days=10, pupils=40, seed=837), "lesson_marks_csv", settings.landing)
    night1 = run_pipeline(settings)
    assert night1.exit_code == 0, night1.error
    before = _published(settings, "837")

    # Night 2: 091 delivers honestly, everybody else is hostile.
    drop(sim("091", days=10, pupils=40), "lesson_marks_csv", settings.landing)
    folders = _hostile_drops(settings.landing)
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(settings.landing),
         "--warehouse", str(settings.warehouse)], capture_output=True, text=True,
        timeout=900, cwd=root, env={**os.environ}, preexec_fn=lambda: os.umask(0o022))
    entries = {}
    for entry in ledger.read_entries(settings.ledger):
        entries.setdefault(entry["municipality_code"], []).append(entry)
    return {"settings": settings, "root": root, "run": run, "folders": folders,
            "entries": entries, "before_837": before}


def _published(settings: Settings, municipality: str) -> list[tuple]:
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        return con.execute(
            "select * from absence_rates where municipality_code = ? order by all",
            [municipality]).fetchall()


def _newest(hostile_night, municipality: str) -> dict:
    rows = hostile_night["entries"][municipality]
    return max(rows, key=lambda e: e["finished_at"])


def test_night_two_publishes_for_everyone_else_and_exits_3(hostile_night):
    run = hostile_night["run"]
    assert run.returncode == 3, run.stderr[-4000:]
    assert "published:" in run.stdout
    settings = hostile_night["settings"]
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        published = {m for (m,) in con.execute(
            "select distinct municipality_code from absence_rates "
            "where level = 'municipality'").fetchall()}
    loaded = {CASES[c][0] for c in CASES if CASES[c][1] == "loaded"}
    assert {"091", "837"} | loaded <= published
    # 091's new drop was loaded and published (the days after night 1 count now).
    assert _newest(hostile_night, "091")["status"] == "loaded"


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_hostile_drop_ends_as_it_should_with_a_reason_naming_the_rule(hostile_night, case):
    code, status, words = CASES[case]
    entry = _newest(hostile_night, code)
    assert entry["status"] == status, entry["reason"]
    for word in words:
        assert word in (entry["reason"] or ""), entry["reason"]
    if status == "quarantined":
        lines = [line for line in hostile_night["run"].stderr.splitlines()
                 if line.startswith("QUARANTINED") and f" {code}/" in line]
        assert len(lines) == 1, hostile_night["run"].stderr[-3000:]


def test_the_hostile_municipalitys_earlier_data_stays_published(hostile_night):
    assert _published(hostile_night["settings"], "837") == hostile_night["before_837"]


def test_no_planted_value_is_written_anywhere_or_printed(hostile_night):
    """Not in the ledger, quarantine, published files, logs or Dagster's storage."""
    root, run = hostile_night["root"], hostile_night["run"]
    planted = [NAME, "Turunen", HETU, INJECTION, "INJECTED", "copy (select"]
    folders = [hostile_night["settings"].warehouse, root / "dagster"]
    for folder in folders:
        for path in (p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            for value in planted:
                assert value.encode() not in data, (path, value)
    for value in planted:
        assert value not in run.stdout + run.stderr, value
    assert audit(hostile_night["settings"].warehouse, hostile_night["settings"].landing,
                 also=[root / "dagster"]) == []


def test_sql_in_a_folder_or_file_name_never_runs(hostile_night):
    root = hostile_night["root"]
    assert not list(root.rglob("INJECTED*")), "an injected COPY ran"
    assert not list(Path.cwd().glob("INJECTED*"))
    # The hostile file name still loads: the name is never spliced into SQL.
    assert _newest(hostile_night, "092")["rows_loaded"] > 0


def test_an_unknown_municipality_gets_no_ledger_row_and_is_listed(hostile_night):
    settings = hostile_night["settings"]
    assert "999" not in hostile_night["entries"]
    assert "999/unknown" in hostile_night["run"].stderr
    (record,) = (settings.quarantine / "_unattributed").glob("*/reason.json")
    assert "reference classification" in json.loads(record.read_text())["reason"]
    assert (settings.landing / "999" / "unknown" / "manifest.json").exists()  # kept
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from data_freshness "
                           "where municipality_code = '999'").fetchall() == [(0,)]


def test_impossible_records_are_rejected_row_by_row_and_the_rest_publishes(hostile_night):
    settings = hostile_night["settings"]
    entry = _newest(hostile_night, "179")
    rejects = pq.read_table(settings.quarantine / "179" / entry["load_id"] /
                            "rejected_rows.parquet").to_pylist()
    assert [(r["file"], r["row"], r["reason"]) for r in rejects] == [
        ("attendance.jsonl", 1,
         "more absent lessons than scheduled lessons for this pupil and period")]


def test_a_pupil_in_two_schools_on_one_day_is_rejected_with_a_reason(hostile_night):
    settings = hostile_night["settings"]
    entry = _newest(hostile_night, "609")
    rejects = pq.read_table(settings.quarantine / "609" / entry["load_id"] /
                            "rejected_rows.parquet").to_pylist()
    assert [r["reason"] for r in rejects] == [
        "pupil is enrolled twice on one day (overlaps an earlier enrolment row)"]


def test_repeated_identical_rows_count_once_and_the_ledger_says_where(hostile_night):
    settings = hostile_night["settings"]
    entry = _newest(hostile_night, "444")
    interventions = pq.read_table(
        settings.canonical / "interventions" / "444" / f"{entry['extract_id']}.parquet")
    assert entry["rows_duplicate"] == interventions.num_rows > 0
    assert json.loads(entry["duplicates"]) == {"toimenpiteet.csv": interventions.num_rows}
    assert entry["rows_rejected"] == 0


def test_a_clock_in_the_future_makes_nobody_else_late(hostile_night):
    settings = hostile_night["settings"]
    with duckdb.connect(str(settings.published / "national.duckdb"), read_only=True) as con:
        statuses = dict(con.execute(
            "select municipality_code, status from data_freshness").fetchall())
    assert statuses["398"] == "quarantined"
    # Nobody who delivered is late; the municipalities that never delivered are not onboarded.
    assert {statuses[m] for m in statuses if m != "398"} <= {"ok", "quarantined",
                                                             "not_onboarded"}
    assert "ok" in statuses.values()


def test_pupil_level_files_are_owner_only_whatever_the_umask(hostile_night):
    settings = hostile_night["settings"]
    pupil_level = [settings.warehouse_db, settings.canonical, settings.ledger,
                   settings.quarantine, hostile_night["root"] / "dagster"]
    for top in pupil_level:
        for path in [top, *top.rglob("*")] if top.is_dir() else [top]:
            mode = stat.S_IMODE(path.stat().st_mode)
            assert not mode & 0o077, (path, oct(mode))
    for path in settings.published.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o750 if path.is_dir() else 0o640), (path, oct(mode))


# -- the key --------------------------------------------------------------------------------

def test_a_run_with_another_key_refuses_with_exit_2_and_changes_nothing(hostile_night):
    settings = hostile_night["settings"]
    before = sorted(p.name for p in settings.ledger.rglob("*.parquet"))
    national = (settings.published / "national.duckdb").stat().st_mtime_ns
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(settings.landing),
         "--warehouse", str(settings.warehouse)], capture_output=True, text=True, timeout=300,
        env={**os.environ, "ABSENCE_PSEUDONYM_KEY": "another-key"})
    assert run.returncode == 2, run.stderr
    assert "not the key this warehouse was built with" in run.stderr
    assert "Re-keying" in run.stderr
    assert "another-key" not in run.stderr and TEST_KEY not in run.stderr
    assert sorted(p.name for p in settings.ledger.rglob("*.parquet")) == before
    assert (settings.published / "national.duckdb").stat().st_mtime_ns == national


# -- absence query ----------------------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    "attach '{national}' as w (READ_WRITE); update w.absence_rates set students = 0",
    "update absence_rates set students = 0",
    "copy absence_rates to '{root}/copied.csv'",
    "select * from read_text('{key}')",
    "select * from read_parquet('{canonical}/students/**/*.parquet')",
    "attach '{warehouse_db}' as pupils",
    "install httpfs",
    "set enable_external_access = true",
])
def test_query_is_really_read_only(hostile_night, sql):
    settings, root = hostile_night["settings"], hostile_night["root"]
    key_file = root / "pseudonym.key"
    key_file.write_text("secret-key-material")
    national = settings.published / "national.duckdb"
    before = national.read_bytes()
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "query", "--warehouse", str(settings.warehouse),
         sql.format(national=national, root=root, key=key_file, canonical=settings.canonical,
                    warehouse_db=settings.warehouse_db)],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout
    assert national.read_bytes() == before
    assert not (root / "copied.csv").exists()
    assert "secret-key-material" not in run.stdout + run.stderr


@pytest.mark.parametrize("region", ["../../absence", "../national", "1", "001", "99", "0a"])
def test_query_region_must_be_an_existing_two_digit_region(hostile_night, region):
    settings = hostile_night["settings"]
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "query", "--warehouse", str(settings.warehouse),
         "--region", region, "select count(*) from absence_rates"],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stdout
    assert "region" in run.stderr


# -- two runs at once ---------------------------------------------------------------------------

def test_two_runs_at_once_never_fail_or_split_a_valid_drop(tmp_path):
    """Two real `absence run` processes on one warehouse: one publishes, the other refuses
    naming the lock; the drop is loaded whole, once."""
    settings = Settings.from_env(landing=tmp_path / "landing", warehouse=tmp_path / "warehouse")
    folder = drop(sim("091", days=20, pupils=150), "lesson_marks_csv", settings.landing)
    manifest = json.loads((folder / "manifest.json").read_text())
    command = [sys.executable, "-m", "pipelines.cli", "run", "--landing", str(settings.landing),
               "--warehouse", str(settings.warehouse)]
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster")}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
    outcomes = sorted([(p.wait(timeout=600), p.communicate()[1]) for p in (first, second)])
    (code_a, _), (code_b, err_b) = outcomes
    assert (code_a, code_b) == (0, 2), outcomes
    assert str(settings.warehouse / ".locks" / "run.lock") in err_b
    (entry,) = ledger.read_entries(settings.ledger)
    assert entry["status"] == "loaded"
    assert entry["rows_read"] == sum(f["rows"] for f in manifest["files"].values())


def test_two_ingests_of_one_municipality_at_once_load_it_once(tmp_path):
    """What the daemon and an `absence run` can do at the same moment: the municipality lock
    serialises them; the second sees the first's load and records a duplicate."""
    settings = Settings.from_env(landing=tmp_path / "landing", warehouse=tmp_path / "warehouse")
    drop(sim("091", days=20, pupils=150), "lesson_marks_csv", settings.landing)
    script = (
        "import sys; from pathlib import Path; from pipelines.config import Settings;"
        "from pipelines.ingest.extract import ingest_drop;"
        "from pipelines.ingest.landing import scan_landing;"
        f"s = Settings.from_env(landing=Path({str(settings.landing)!r}), "
        f"warehouse=Path({str(settings.warehouse)!r}));"
        "(d,) = scan_landing(s.landing);"
        f"print(ingest_drop(d, s, {TEST_KEY!r}.encode()).status)")
    runs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
            for _ in range(2)]
    statuses = sorted(p.communicate(timeout=300)[0].strip() for p in runs)
    assert statuses == ["duplicate", "loaded"]
    (loaded,) = [e for e in ledger.read_entries(settings.ledger) if e["status"] == "loaded"]
    canonical_rows = sum(pq.read_metadata(p).num_rows
                         for p in settings.canonical.glob("*/091/*.parquet"))
    assert canonical_rows == loaded["rows_loaded"] > 0
    assert not any((settings.warehouse / ".staging").iterdir())  # both cleaned up
