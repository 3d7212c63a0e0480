"""Advisory file locks that keep concurrent runs from stepping on each other (DESIGN §3).

Three kinds, all under `<warehouse>/.locks/`:
- `run.lock`: one `absence run` at a time; a second one refuses, naming this file.
- `ingest-<mmm>.lock`: one ingest of a municipality at a time, whoever runs it (`absence run`,
  a Dagster run launched by the daemon); the second waits, then finds the drop done.
- `warehouse.lock`: one writer of `absence.duckdb` and the published files (dbt + publish).

`flock` locks belong to an open file, so the kernel releases them when a holder dies: a killed
run never leaves a lock behind. The file holds the holder's pid and start time, for messages.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

_HELD: set[int] = set()  # descriptors of the locks this process holds


class LockBusy(RuntimeError):
    """Another process holds the lock; the message names the lock file and its holder."""

    def __init__(self, path: Path, holder: str):
        self.path = path
        self.holder = holder
        super().__init__(f"another run holds the lock {path} ({holder or 'holder unknown'})")


def lock_path(warehouse: Path, name: str) -> Path:
    folder = warehouse / ".locks"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{name}.lock"


@contextmanager
def hold(path: Path, *, wait: float | None = None) -> Iterator[Path]:
    """Hold an exclusive lock on `path`. `wait=None` blocks until it is free; a number of
    seconds (0 = do not wait) raises LockBusy when it is still held after that long."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(fd, path, wait)
        _HELD.add(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                     f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n".encode())
        try:
            yield path
        finally:
            _HELD.discard(fd)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def forget_inherited() -> None:
    """In a forked child: close the lock descriptors it inherited, so that a lock is released
    when its holder dies even if the child lives on a moment longer."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


def _acquire(fd: int, path: Path, wait: float | None) -> None:
    if wait is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockBusy(path, _holder(path)) from None
            time.sleep(min(0.5, max(deadline - time.monotonic(), 0.01)))


def _holder(path: Path) -> str:
    try:
        return path.read_text("utf-8").strip()
    except OSError:
        return ""
