"""Pupil pseudonyms (DESIGN §4.4): HMAC-SHA256 over the learner OID, else municipality:local id."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "ABSENCE_PSEUDONYM_KEY"
KEY_FILE_NAME = "pseudonym.key"
FINGERPRINT_FILE_NAME = "pseudonym.fingerprint"
_FINGERPRINT_MESSAGE = b"absence-stats pseudonym key fingerprint v1"


class MissingKeyError(RuntimeError):
    """Raised when a run has no usable pseudonymisation key: it must not start (exit 2)."""


class KeyMismatchError(MissingKeyError):
    """The key differs from the one the warehouse was built with (DESIGN §4.4)."""


def fingerprint(key: bytes) -> str:
    """A keyed fingerprint: HMAC of a fixed message under the key. It tells keys apart and
    reveals nothing of the key."""
    return hmac.new(key, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()


def check_key_continuity(warehouse: Path, key: bytes) -> None:
    """Store the key's fingerprint at the first run; refuse any later run with another key.

    Pupils are linked across nights by their key: a different key would silently make every
    pupil new (doubling pupil counts, moving crossings) instead of failing.
    """
    path = warehouse / FINGERPRINT_FILE_NAME
    if path.is_file():
        stored = path.read_text("utf-8").strip()
        if not hmac.compare_digest(stored, fingerprint(key)):
            raise KeyMismatchError(
                f"{KEY_ENV} is not the key this warehouse was built with (its fingerprint "
                f"differs from {path}). Use the original key; to re-key on purpose, see "
                "'Re-keying' in the README: keep the landing zone, remove canonical/, ledger/, "
                f"absence.duckdb and {FINGERPRINT_FILE_NAME} from the warehouse, then run "
                "`absence run` with the new key.")
        return
    warehouse.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(fingerprint(key) + "\n")
    os.replace(tmp, path)


def load_key(warehouse: Path, configured: str = "", *, create: bool = False) -> bytes:
    """The configured key (settings.pseudonym_key, from ABSENCE_PSEUDONYM_KEY), else the
    warehouse's key file (made only by the demo); checked against the warehouse's stored
    fingerprint (KeyMismatchError)."""
    key = _find_key(warehouse, configured, create=create)
    check_key_continuity(warehouse, key)
    return key


def _find_key(warehouse: Path, configured: str, *, create: bool) -> bytes:
    if configured.strip():
        return configured.strip().encode("utf-8")
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
