"""The Dagster UI, as a data engineer opens it: the real `dagster-webserver` on a free local port
serving `pipelines.definitions`, driven by headless Chromium through Playwright. The asset
catalog shows the ingest, dbt and publish assets, and each asset's Checks tab shows its checks:
the Pandera-backed ingest checks, dbt tests, the freshness check and the GX suites.

Screenshots go to the test's tmp_path. Needs Debian's `chromium` (`make test` installs it when
run as root); skipped with a message where it is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.config import PROJECT_ROOT
from quality.checks import CHECKS

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STARTUP_SECONDS = 120
UI_TIMEOUT_MS = 60_000

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (as root: apt-get install chromium; "
           "`make test` does this when it can)")

# Asset (as the UI names it) → checks its Checks tab must list.
EXPECTED_CHECKS = {
    "extract_ledger": ["drop_accepted", "rows_valid"],                      # ingest (Pandera)
    "absence_rates": ["accepted_range_absence_rates_absence_rate__1__0",    # dbt tests
                      "unique_combination_of_columns_absence_rates_level"],
    "data_freshness": ["extracts_on_time", "unique_data_freshness_municipality_code"],
    "published_statistics": [c.name for c in CHECKS],                       # GX suites
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {process.returncode}:\n"
                        + log.read_text(errors="replace")[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not answer within {STARTUP_SECONDS} s:\n"
                + log.read_text(errors="replace")[-3000:])


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM lets the webserver shut its code server down; the process group (started by
    this test, start_new_session) is killed only if that does not happen in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _serve(tmp_path, home: Path):
    env = {**os.environ, "DAGSTER_HOME": str(home),
           "ABSENCE_WAREHOUSE": str(tmp_path / "warehouse"),
           "ABSENCE_LANDING": str(tmp_path / "landing")}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "webserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-webserver"),
             "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_until_serving(url, process, log)
            yield url
        finally:
            _stop(process)


@pytest.fixture
def webserver(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    yield from _serve(tmp_path, home)


def test_asset_catalog_and_checks_are_shown_in_the_dagster_ui(webserver, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # Tall enough that the (virtualised) catalog renders every asset row.
            page = browser.new_page(viewport={"width": 1600, "height": 4200})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(f"{webserver}/assets")
            # The first visit offers a newsletter dialog; dismiss it when it appears.
            skip = page.get_by_role("button", name="Skip")
            try:
                skip.wait_for(timeout=15_000)
                skip.click()
            except Exception:  # noqa: BLE001 — no dialog this time
                pass
            page.get_by_text("published_statistics").first.wait_for()
            catalog = page.inner_text("body")
            page.screenshot(path=str(tmp_path / "asset_catalog.png"))
            for asset in ("extract_ledger", "canonical / students", "canonical / absences",
                          "stg_canonical__attendance", "absence_rates", "attendance_tiers",
                          "data_freshness", "published_statistics"):
                assert asset in catalog, asset

            page.set_viewport_size({"width": 1600, "height": 1600})
            for asset, checks in EXPECTED_CHECKS.items():
                page.goto(f"{webserver}/assets/{asset}?view=checks")
                page.get_by_text("Checks (").first.wait_for()
                page.wait_for_function("names => names.every(n => document.body.innerText"
                                       ".includes(n))", arg=checks)
                text = page.inner_text("body")
                page.screenshot(path=str(tmp_path / f"checks_{asset}.png"))
                for check in checks:
                    assert check in text, (asset, check)

            page.goto(f"{webserver}/assets/published_statistics?view=lineage")
            page.get_by_text("data_freshness").first.wait_for()
            page.screenshot(path=str(tmp_path / "lineage_published_statistics.png"))
        finally:
            browser.close()
    assert (tmp_path / "checks_published_statistics.png").stat().st_size > 10_000


def _bad_night(home: Path, landing: Path) -> None:
    """Three runs in the instance the webserver will read: a drop that loads, a drop that is
    quarantined, and a publish run that cannot open the warehouse (an infrastructure
    failure: nothing was built)."""
    import dagster as dg

    from pipelines.definitions import defs
    from tests.conftest import csv_files, write_drop

    write_drop(landing, "091", "20260827T234000", csv_files())
    write_drop(landing, "837", "20260827T234000",
               csv_files(students=("oppilaat.csv", "x;y\n1;2\n")))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions("municipality", ["091", "837"])
        ingest = defs.resolve_job_def("ingest_job")
        for municipality in ("091", "837"):
            ingest.execute_in_process(
                instance=instance, partition_key=municipality, raise_on_error=False,
                tags={"absence/municipality": municipality,
                      "absence/extract_id": "20260827T234000"},
                run_config={"ops": {"ingest_extract": {"config": {
                    "extract_id": "20260827T234000"}}}})
        defs.resolve_job_def("publish_job").execute_in_process(
            instance=instance, raise_on_error=False,
            asset_selection=[dg.AssetKey("published_statistics")])


@pytest.fixture
def bad_night_webserver(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")
    _bad_night(home, tmp_path / "landing")
    yield from _serve(tmp_path, home)


def test_the_runs_list_tells_a_quarantined_drop_from_an_infrastructure_failure(
        bad_night_webserver, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1800, "height": 1100})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.goto(f"{bad_night_webserver}/runs")
            skip = page.get_by_role("button", name="Skip")
            try:
                skip.wait_for(timeout=15_000)
                skip.click()
            except Exception:  # noqa: BLE001 — no dialog this time
                pass
            page.get_by_text("publish_job").first.wait_for()
            page.wait_for_function("() => document.body.innerText.includes('quarantined')")
            text = page.inner_text("body")
            page.screenshot(path=str(tmp_path / "runs_after_a_bad_night.png"))
        finally:
            browser.close()
    assert "absence/outcome: quarantined" in text and "absence/outcome: loaded" in text
    assert "absence/failure: infrastructure" in text
    assert (tmp_path / "runs_after_a_bad_night.png").stat().st_size > 10_000
