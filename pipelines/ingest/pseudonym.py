"""Pupil pseudonyms (DESIGN §4.4): HMAC-SHA256 over the learner OID, else municipality:local id."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "ABSENCE_PSEUDONYM_KEY"
KEY_FILE_NAME = "pseudonym.key"


class MissingKeyError(RuntimeError):
    """Raised when a non-demo run has no pseudonymisation key."""


def load_key(warehouse: Path, *, create: bool = False) -> bytes:
    """The key from ABSENCE_PSEUDONYM_KEY, else the warehouse's key file (made only by the demo)."""
    value = os.environ.get(KEY_ENV, "").strip()
    if value:
        return value.encode("utf-8")
    key_file = warehouse / KEY_FILE_NAME
    if key_file.is_file():
        return key_file.read_text("utf-8").strip().encode("utf-8")
    if not create:
        raise MissingKeyError(
            f"No pseudonymisation key: set {KEY_ENV} (a long random secret kept outside the "
            f"warehouse), or run `absence demo` which creates a local key file {key_file}."
        )
    warehouse.mkdir(parents=True, exist_ok=True)
    # O_EXCL + 0o600: the file is born readable by its owner only, never briefly world-readable.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_hex(32))
    return key_file.read_text("utf-8").strip().encode("utf-8")


class Pseudonymiser:
    """Maps (learner OID | municipality:local id) to a stable student_key, caching per pupil."""

    def __init__(self, key: bytes, municipality_code: str):
        self._key = key
        self._municipality = municipality_code
        self._by_local_id: dict[str, str] = {}

    def key_for(self, local_id: str, learner_oid: object) -> str:
        # Missing OIDs arrive as None or NaN depending on the reader; only real text counts.
        has_oid = isinstance(learner_oid, str) and learner_oid != ""
        subject = learner_oid if has_oid else f"{self._municipality}:{local_id}"
        return hmac.new(self._key, subject.encode("utf-8"), hashlib.sha256).hexdigest()

    def register(self, local_id: str, learner_oid: object) -> str:
        """Remember a pupil of the students file; later files refer to them by local id."""
        key = self.key_for(local_id, learner_oid)
        self._by_local_id.setdefault(local_id, key)
        return key

    def lookup(self, local_id: str) -> str | None:
        return self._by_local_id.get(local_id)

    @property
    def mapping(self) -> dict[str, str]:
        return self._by_local_id
