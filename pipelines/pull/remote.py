"""Reading a municipality's remote export: SFTP (paramiko) or HTTPS (requests), one
interface. The remote side is hostile input (DESIGN §3): listings are capped, every read is
capped and has a timeout, names are checked by the caller before they become paths.

Layout on the remote side (both protocols): the source's folder holds one folder per drop,
`<extract_id>/manifest.json` plus the data files the manifest names — the landing zone's own
layout. Over HTTPS the folder cannot be listed, so the source publishes `index.json` in it:
`{"drops": ["<extract_id>", ...]}`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Protocol

import orjson
import paramiko
import requests

CONNECT_TIMEOUT = 15.0  # seconds to connect, for the banner, to authenticate
IO_TIMEOUT = 60.0  # seconds any one read may block
MAX_LISTING = 10_000  # entries of one listing; beyond it the listing is refused
MAX_INDEX_BYTES = 1 << 20
CHUNK = 1 << 20


class RemoteError(Exception):
    """The source could not be read; the message is ours, never the server's text."""


class MissingFile(RemoteError):
    """The file does not exist on the remote side (a drop still being written)."""


class Remote(Protocol):
    def list_drops(self) -> list[str]: ...
    def read_small(self, extract_id: str, name: str, max_bytes: int) -> bytes: ...
    def stream(self, extract_id: str, name: str) -> Iterator[bytes]: ...
    def close(self) -> None: ...


class SftpRemote:
    def __init__(self, source) -> None:
        self.source = source
        self.client = paramiko.SSHClient()
        if source.known_hosts:
            self.client.load_host_keys(str(source.known_hosts))
        # Never trust a host key on first sight: an unknown server is refused.
        self.client.set_missing_host_key_policy(paramiko.RejectPolicy())
        key_file = source.secret(source.key_file_env)
        password = source.secret(source.password_env)
        if not key_file and not password:
            raise RemoteError("the environment variable named in key_file_env or "
                              "password_env is not set")
        try:
            self.client.connect(
                source.host, port=source.port, username=source.user,
                key_filename=key_file or None, password=password or None,
                timeout=CONNECT_TIMEOUT, banner_timeout=CONNECT_TIMEOUT,
                auth_timeout=CONNECT_TIMEOUT, channel_timeout=CONNECT_TIMEOUT,
                allow_agent=False, look_for_keys=False)
            self.sftp = self.client.open_sftp()
            self.sftp.get_channel().settimeout(IO_TIMEOUT)
        except paramiko.BadHostKeyException as error:
            self.client.close()
            raise RemoteError("the server's host key does not match known_hosts") from error
        except paramiko.SSHException as error:
            self.client.close()
            kind = ("the server's host key is not in known_hosts"
                    if "not found in known_hosts" in str(error) else
                    "authentication failed" if isinstance(
                        error, paramiko.AuthenticationException) else "SSH failed")
            raise RemoteError(f"{kind} ({type(error).__name__})") from error
        except OSError as error:
            self.client.close()
            raise RemoteError(f"source unreachable ({type(error).__name__})") from error

    def _path(self, *parts: str) -> str:
        return posixpath.join(self.source.path, *parts)

    def list_drops(self) -> list[str]:
        names = []
        try:
            for entry in self.sftp.listdir_iter(self._path()):
                names.append(entry.filename)
                if len(names) > MAX_LISTING:
                    raise RemoteError(f"the listing has more than {MAX_LISTING} entries")
        except OSError as error:
            raise RemoteError(f"cannot list the source folder ({type(error).__name__})") \
                from error
        return names

    def read_small(self, extract_id: str, name: str, max_bytes: int) -> bytes:
        data = b"".join(self.stream(extract_id, name, max_bytes=max_bytes))
        return data

    def stream(self, extract_id: str, name: str, max_bytes: int | None = None
               ) -> Iterator[bytes]:
        path = self._path(extract_id, name)
        try:
            handle = self.sftp.open(path, "rb")
        except FileNotFoundError as error:
            raise MissingFile(name) from error
        except OSError as error:
            raise RemoteError(f"cannot open a remote file ({type(error).__name__})") \
                from error
        with handle:
            total = 0
            while True:
                try:
                    chunk = handle.read(CHUNK)
                except OSError as error:
                    raise RemoteError(f"transfer failed ({type(error).__name__})") from error
                if not chunk:
                    return
                total += len(chunk)
                if max_bytes is not None and total > max_bytes:
                    raise RemoteError(f"a remote file is larger than {max_bytes} bytes")
                yield chunk

    def close(self) -> None:
        self.client.close()


class HttpsRemote:
    def __init__(self, source) -> None:
        self.source = source
        self.base = f"https://{source.host}:{source.port}{source.path.rstrip('/')}/"
        self.session = requests.Session()
        token = source.secret(source.token_env)
        if source.token_env and not token:
            raise RemoteError("the environment variable named in token_env is not set")
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.verify = str(source.ca_file) if source.ca_file else True

    def _get(self, url: str):
        try:
            response = self.session.get(url, stream=True, timeout=(CONNECT_TIMEOUT, IO_TIMEOUT),
                                        verify=self.verify, allow_redirects=False)
        except requests.exceptions.SSLError as error:
            raise RemoteError("TLS verification failed") from error
        except requests.RequestException as error:
            raise RemoteError(f"source unreachable ({type(error).__name__})") from error
        if response.status_code == 404:
            response.close()
            raise MissingFile(url.rsplit("/", 1)[-1])
        if response.status_code in (401, 403):
            response.close()
            raise RemoteError(f"access refused (HTTP {response.status_code})")
        if response.status_code != 200:
            response.close()
            raise RemoteError(f"unexpected answer (HTTP {response.status_code})")
        return response

    def _read(self, url: str, max_bytes: int | None) -> Iterator[bytes]:
        response = self._get(url)
        with response:
            total = 0
            try:
                for chunk in response.iter_content(CHUNK):
                    total += len(chunk)
                    if max_bytes is not None and total > max_bytes:
                        raise RemoteError(f"a remote file is larger than {max_bytes} bytes")
                    yield chunk
            except requests.RequestException as error:
                raise RemoteError(f"transfer failed ({type(error).__name__})") from error

    def list_drops(self) -> list[str]:
        try:
            index = orjson.loads(b"".join(self._read(self.base + "index.json",
                                                     MAX_INDEX_BYTES)))
        except MissingFile as error:
            raise RemoteError("the source publishes no index.json") from error
        except orjson.JSONDecodeError as error:
            raise RemoteError("index.json is not JSON") from error
        drops = index.get("drops") if isinstance(index, dict) else None
        if not isinstance(drops, list) or not all(isinstance(d, str) for d in drops):
            raise RemoteError('index.json is not {"drops": [names]}')
        if len(drops) > MAX_LISTING:
            raise RemoteError(f"the listing has more than {MAX_LISTING} entries")
        return drops

    def read_small(self, extract_id: str, name: str, max_bytes: int) -> bytes:
        return b"".join(self.stream(extract_id, name, max_bytes=max_bytes))

    def stream(self, extract_id: str, name: str, max_bytes: int | None = None
               ) -> Iterator[bytes]:
        return self._read(f"{self.base}{extract_id}/{name}", max_bytes)

    def close(self) -> None:
        self.session.close()


def connect(source) -> Remote:
    return SftpRemote(source) if source.scheme == "sftp" else HttpsRemote(source)
