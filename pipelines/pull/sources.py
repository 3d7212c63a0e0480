"""Remote sources of municipalities that do not push (config/sources.yaml, path overridable
by ABSENCE_SOURCES). Onboarding one is configuration only:

```yaml
sources:
  "091":                                   # municipality code (kunnat_2026)
    url: sftp://absence@sftp.example.fi:22/exports/poissaolot
    key_file_env: ABSENCE_SFTP_KEY_091     # env var holding the path of a private key file
    # password_env: ABSENCE_SFTP_PASSWORD_091   (instead of a key)
    known_hosts: /etc/absence/known_hosts  # the server's host key must be listed here
  "837":
    url: https://export.example.fi/absence/
    token_env: ABSENCE_TOKEN_837           # env var holding a bearer token
    # ca_file: /etc/absence/ca.pem         (a private CA; default: the system's)
```

A municipality not listed pushes into the landing zone itself (nothing changes for it).
Secrets are never in the file, only the names of the environment variables holding them.
Every problem is a `SourcesError` naming the file, the municipality and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from pipelines.config import read_secret
from pipelines.ingest.landing import MUNICIPALITY_FOLDER

FIELDS = {"url", "key_file_env", "password_env", "token_env", "known_hosts", "ca_file"}
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")
MAX_CONFIG_BYTES = 1 << 20


class SourcesError(ValueError):
    """The sources file is wrong: the message names the file, municipality and field."""


@dataclass(frozen=True)
class Source:
    municipality_code: str
    scheme: str  # sftp | https
    host: str
    port: int
    path: str  # remote folder holding <extract_id>/ folders
    url: str = field(repr=False)
    user: str | None = None
    key_file_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None
    known_hosts: Path | None = None
    ca_file: Path | None = None

    def secret(self, name: str | None) -> str | None:
        """The value of one of the named environment variables, read when needed."""
        return read_secret(name)


def load_sources(path: Path, known_municipalities: set[str]) -> dict[str, Source]:
    """The configured remote sources; {} when the file does not exist."""
    if not path.exists():
        return {}
    where = path.name
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise SourcesError(f"{where}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        document = yaml.safe_load(path.read_text("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise SourcesError(f"{where}: not valid YAML ({type(error).__name__})") from error
    if not isinstance(document, dict) or not isinstance(document.get("sources") or {}, dict):
        raise SourcesError(f"{where}: expected a mapping `sources:` of municipality codes")
    sources = {}
    for code, entry in (document.get("sources") or {}).items():
        code = str(code)
        if not MUNICIPALITY_FOLDER.fullmatch(code) or code not in known_municipalities:
            raise SourcesError(f"{where}: a key of `sources` is not a municipality code of "
                               "kunnat_2026 (quote codes: \"091\")")
        sources[code] = _source(where, code, entry)
    return sources


def _source(where: str, code: str, entry: object) -> Source:
    def fail(name: str, why: str) -> SourcesError:
        return SourcesError(f"{where}: {code}.{name}: {why}")

    if not isinstance(entry, dict):
        raise fail("url", "the entry is not a mapping with a url")
    unknown = set(entry) - FIELDS
    if unknown:
        raise fail(sorted(map(str, unknown))[0], f"unknown field (allowed: {sorted(FIELDS)})")
    url = entry.get("url")
    if not isinstance(url, str) or not url:
        raise fail("url", "missing")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise fail("url", "not a valid URL") from error
    if parts.scheme not in ("sftp", "https"):
        raise fail("url", "scheme must be sftp:// or https://")
    if not parts.hostname:
        raise fail("url", "no host")
    if parts.password:
        raise fail("url", "holds a password: name an environment variable in password_env")
    if parts.query or parts.fragment:
        raise fail("url", "may not have a query or fragment")
    for name in ("key_file_env", "password_env", "token_env"):
        value = entry.get(name)
        if value is not None and (not isinstance(value, str) or not ENV_NAME.fullmatch(value)):
            raise fail(name, "must be the NAME of an environment variable (A-Z, 0-9, _)")
    paths = {}
    for name in ("known_hosts", "ca_file"):
        value = entry.get(name)
        if value is not None and not isinstance(value, str):
            raise fail(name, "must be a file path")
        paths[name] = Path(value) if value else None
    if parts.scheme == "sftp":
        if not parts.username:
            raise fail("url", "an sftp URL needs a user: sftp://user@host/path")
        if not (entry.get("key_file_env") or entry.get("password_env")):
            raise fail("key_file_env", "an sftp source needs key_file_env or password_env")
        if entry.get("token_env") or entry.get("ca_file"):
            raise fail("token_env", "token_env and ca_file are for https sources")
    else:
        if parts.username:
            raise fail("url", "an https URL takes no user: use token_env")
        if entry.get("key_file_env") or entry.get("password_env") or entry.get("known_hosts"):
            raise fail("key_file_env", "key_file_env, password_env and known_hosts are for "
                                       "sftp sources")
    path = unquote(parts.path or "/")
    return Source(
        municipality_code=code, scheme=parts.scheme, host=parts.hostname,
        port=port or (22 if parts.scheme == "sftp" else 443), path=path, url=url,
        user=unquote(parts.username) if parts.username else None,
        key_file_env=entry.get("key_file_env"), password_env=entry.get("password_env"),
        token_env=entry.get("token_env"), known_hosts=paths["known_hosts"],
        ca_file=paths["ca_file"])
