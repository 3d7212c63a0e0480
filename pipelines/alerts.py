"""Alerts that reach people: one record per event, appended to
`$ABSENCE_WAREHOUSE/alerts/alerts.jsonl` and, when `ABSENCE_ALERT_WEBHOOK` is set, POSTed as
JSON to that URL (Slack's and Teams' incoming webhooks read the `text` field; the rest is the
record for a machine). Kinds: `run_failed`, `drop_quarantined`, `publication_blocked`,
`municipalities_late`, `source_unreachable` (a remote source of config/sources.yaml).

An alert never stops the pipeline: the POST has a timeout per attempt and a bounded number of
retries, and every network error ends as a logged line, never an exception. The texts come
from the pipeline's own fixed-phrase reasons (DESIGN §3): they name files, rows, columns and
rules, never a value from a drop.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from pipelines.config import Settings

log = logging.getLogger(__name__)

KINDS = ("run_failed", "drop_quarantined", "publication_blocked", "municipalities_late",
         "source_unreachable")
TIMEOUT_SECONDS = 5.0
ATTEMPTS = 3
BACKOFF_SECONDS = 1.0
MAX_TEXT = 3000


def alerts_path(settings: Settings) -> Path:
    return settings.warehouse / "alerts" / "alerts.jsonl"


def record(kind: str, text: str, **details: object) -> dict:
    """An alert record: what happened in one line (`text`), and the details."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind}")
    return {"kind": kind, "alerted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "text": text[:MAX_TEXT], **details}


def write_alert(alert: dict, settings: Settings) -> Path:
    """Append the record as one line in one O_APPEND write: concurrent writers never
    interleave."""
    path = alerts_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(alert, ensure_ascii=False, default=str) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    return path


def post_alert(alert: dict, url: str, *, attempts: int = ATTEMPTS,
               timeout: float = TIMEOUT_SECONDS) -> bool:
    """POST the record to the webhook; True when it answered 2xx. Retries on connection
    errors, timeouts, 429 and 5xx; gives up after `attempts` (about attempts × (timeout +
    backoff) seconds at worst) and returns False."""
    body = json.dumps({"text": f"[absence] {alert['text']}", "absence": alert},
                      ensure_ascii=False, default=str).encode("utf-8")
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(url, data=body, timeout=timeout, allow_redirects=False,
                                     headers={"Content-Type": "application/json"})
            if 200 <= response.status_code < 300:
                return True
            retry = response.status_code == 429 or response.status_code >= 500
            # The URL may hold a token: log the status, never the URL.
            log.warning("alert webhook answered %s (attempt %s of %s)",
                        response.status_code, attempt, attempts)
            if not retry:
                return False
        except requests.RequestException as error:
            log.warning("alert webhook unreachable (attempt %s of %s): %s", attempt, attempts,
                        type(error).__name__)
        if attempt < attempts:
            time.sleep(BACKOFF_SECONDS * attempt)
    return False


def send(alert: dict, settings: Settings) -> bool:
    """Write the alert to the JSONL file and, if a webhook is configured, POST it. Returns
    whether the webhook took it (True when none is configured: the file is the record)."""
    write_alert(alert, settings)
    if not settings.alert_webhook:
        return True
    delivered = post_alert(alert, settings.alert_webhook)
    if not delivered:
        log.warning("alert %s stays in %s only: the webhook did not take it", alert["kind"],
                    alerts_path(settings))
    return delivered
