"""Alerts reach people: the webhook POST against a real HTTP server on loopback, its retries
and timeouts, and a quarantined drop raising an alert (and a run tag) through a real Dagster
materialisation of the ingest asset."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from pipelines import alerts
from pipelines.defs.ingest.assets import ingest_extract
from pipelines.defs.resources import AbsenceSettings
from tests.conftest import csv_files, write_drop


class Hook:
    """A webhook on 127.0.0.1: records every POST body; answers with the next status of
    `statuses` (the last one repeats)."""

    def __init__(self, statuses=(200,)):
        self.statuses, self.bodies = list(statuses), []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                status = hook.statuses.pop(0) if len(hook.statuses) > 1 else hook.statuses[0]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token=secret"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    server = Hook()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch):
    monkeypatch.setattr(alerts, "BACKOFF_SECONDS", 0.05)


def test_an_alert_is_posted_as_slack_and_teams_compatible_json(hook):
    alert = alerts.record("publication_blocked", "the quality gate blocked publication",
                          failed_checks=["suppression_applied"])
    assert alerts.post_alert(alert, hook.url)
    (body,) = hook.bodies
    assert body["text"] == "[absence] the quality gate blocked publication"
    assert body["absence"]["kind"] == "publication_blocked"
    assert body["absence"]["failed_checks"] == ["suppression_applied"]


def test_a_failing_webhook_is_retried_then_succeeds():
    server = Hook(statuses=(503, 500, 200))
    try:
        assert alerts.post_alert(alerts.record("run_failed", "x"), server.url, attempts=3)
        assert len(server.bodies) == 3
    finally:
        server.close()


def test_a_client_error_is_not_retried_and_does_not_raise():
    server = Hook(statuses=(404,))
    try:
        assert not alerts.post_alert(alerts.record("run_failed", "x"), server.url, attempts=3)
        assert len(server.bodies) == 1
    finally:
        server.close()


def test_a_webhook_that_never_answers_costs_bounded_time_and_never_raises():
    # A socket that accepts connections (the kernel's backlog) but never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    try:
        started = time.monotonic()
        assert not alerts.post_alert(alerts.record("run_failed", "x"), url, attempts=2,
                                     timeout=0.5)
        assert time.monotonic() - started < 5
    finally:
        silent.close()
    # Nobody listens at all: refused at once, still no exception.
    assert not alerts.post_alert(alerts.record("run_failed", "x"), url, attempts=2, timeout=0.5)


def test_without_a_webhook_the_alert_is_still_written_to_the_file(settings):
    assert alerts.send(alerts.record("municipalities_late", "1 municipality"), settings)
    (line,) = alerts.alerts_path(settings).read_text("utf-8").splitlines()
    assert json.loads(line)["kind"] == "municipalities_late"


def test_a_non_http_webhook_is_refused_at_configuration(settings):
    with pytest.raises(ValueError, match="http"):
        replace(settings, alert_webhook="file:///etc/passwd")


def test_a_quarantined_drop_alerts_and_tags_its_run(settings, hook):
    # A students file without the contract's columns: the drop is quarantined whole. Its
    # header holds a name, which must reach neither the alert nor the tags.
    write_drop(settings.landing, "091", "20260827T234000",
               csv_files(students=("oppilaat.csv", "Turunen Ella;x\n1;2\n")))
    settings = replace(settings, alert_webhook=hook.url)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("municipality", ["091"])
        result = dg.materialize(
            [ingest_extract], partition_key="091", instance=instance,
            resources={"absence": AbsenceSettings.of(settings)},
            run_config={"ops": {"ingest_extract": {"config": {
                "extract_id": "20260827T234000"}}}})
        assert result.success  # the run did its job: the drop is kept, quarantined
        tags = instance.get_run_by_id(result.run_id).tags
    assert tags["absence/outcome"] == "quarantined"
    assert tags["absence/extract_id"] == "20260827T234000"
    (body,) = hook.bodies
    alert = body["absence"]
    assert alert["kind"] == "drop_quarantined"
    assert (alert["municipality"], alert["extract_id"]) == ("091", "20260827T234000")
    assert alert["reason"] and "091" in body["text"]
    written = alerts.alerts_path(settings).read_text("utf-8")
    for text in (json.dumps(body), written, json.dumps(tags)):
        assert "Turunen" not in text and "Ella" not in text
    assert "secret" not in written  # the webhook's token is not in the record


def test_ingest_metadata_reconciles_rows_read_kept_rejected_and_repeats(settings):
    # One mark row repeated verbatim (counted once) and one with an unknown code (rejected).
    from tests.conftest import MARKS

    name, text = MARKS
    lines = text.splitlines()
    marks = "\n".join([*lines, lines[1], lines[1].rsplit(";", 2)[0] + ";ZZZ;" +
                       lines[1].rsplit(";", 1)[1]]) + "\n"
    write_drop(settings.landing, "091", "20260827T234000", csv_files(marks=(name, marks)))
    settings = replace(settings, reject_threshold=0.5)  # a tiny drop: keep it loaded
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("municipality", ["091"])
        result = dg.materialize(
            [ingest_extract], partition_key="091", instance=instance,
            resources={"absence": AbsenceSettings.of(settings)},
            run_config={"ops": {"ingest_extract": {"config": {
                "extract_id": "20260827T234000"}}}})
        (event,) = [e for e in result.get_asset_materialization_events()
                    if e.asset_key == dg.AssetKey("extract_ledger")]
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["rows_duplicate"] == 1 and meta["rows_rejected"] == 1
    assert meta["rows_read"] == meta["rows_kept"] + meta["rows_rejected"] + meta["rows_duplicate"]
    assert sum(meta["rows_loaded_by_table"].values()) == meta["rows_loaded"] > 0
    assert f"{meta['rows_read']} source rows read" in meta["reconciliation"]
