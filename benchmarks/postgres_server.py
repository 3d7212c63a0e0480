"""A throwaway PostgreSQL server for tests and benchmarks: Debian's package, a temp data
folder, a free loopback port, run as the `postgres` user when we are root (the server refuses
root). Used by tests/test_daemon.py and benchmarks/instance_overhead.py."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


class Unavailable(Exception):
    """No server binaries, or no non-root user to run them as."""


def server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(db_name: str = "dagster") -> Iterator[dict[str, str]]:
    """Start a server; yield the ABSENCE_PG_* variables of config/production/dagster.yaml."""
    pg = server_bin()
    if pg is None:
        raise Unavailable("PostgreSQL server binaries not installed (make test installs them)")
    user: list[str] = []
    owner = None
    if os.getuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as error:
            raise Unavailable("no non-root `postgres` user to run the server") from error
        user = ["runuser", "-u", "postgres", "--"]
    folder = Path(tempfile.mkdtemp(prefix="absence-pg-"))
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data, port = folder / "data", _free_port()
    try:
        subprocess.run([*user, pg / "initdb", "-D", data, "-U", "absence", "-A", "trust",
                        "--no-sync"], check=True, capture_output=True)
        subprocess.run([*user, pg / "pg_ctl", "-D", data, "-w", "-l", folder / "server.log",
                        "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off", "start"],
                       check=True, capture_output=True)
        try:
            subprocess.run([*user, pg / "createdb", "-h", "127.0.0.1", "-p", str(port),
                            "-U", "absence", db_name], check=True, capture_output=True)
            yield {"ABSENCE_PG_HOST": "127.0.0.1", "ABSENCE_PG_PORT": str(port),
                   "ABSENCE_PG_DB": db_name, "ABSENCE_PG_USER": "absence",
                   "ABSENCE_PG_PASSWORD": "unused-with-trust"}
        finally:
            subprocess.run([*user, pg / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                           capture_output=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
