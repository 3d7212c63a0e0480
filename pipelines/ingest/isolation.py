"""Parse a drop in a child process with a memory ceiling and a time limit (DESIGN §3).

Whatever a drop holds, it must not crash, exhaust or hang the process that loads the other
municipalities: a spreadsheet whose single cell sits at XFD1048576 makes the Excel reader ask
for hundreds of gigabytes and abort the whole process. So the reading and validating of one
drop runs in a forked child with `RLIMIT_AS` set; when the child dies, runs out of memory or
overruns its time, the parent records a quarantine reason instead of dying with it.
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from pipelines import locks
from pipelines.ingest.errors import DropError
from pipelines.ingest.limits import IngestLimits


class ChildFailed(Exception):
    """The child process did not finish; the message never quotes the drop."""


def run_isolated(fn: Callable[..., Any], *args: Any, limits: IngestLimits) -> Any:
    """fn(*args) in a forked child within `limits.memory_bytes` of address space and
    `limits.seconds`: its return value, or its DropError raised here.

    A bare fork (not multiprocessing, whose daemonic pool workers may not have children)
    keeps the cost to milliseconds and the child sees the parent's modules and settings as
    they are. Errors other than DropError are reported by type only: their messages may
    quote data.
    """
    if not hasattr(os, "fork"):  # no isolation where there is no fork; same results
        return fn(*args)
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child_main(write_end, fn, args, limits.memory_bytes)
    os.close(write_end)
    try:
        data, finished = _read_all(read_end, limits.seconds)
    finally:
        os.close(read_end)
    if not finished:
        _kill(pid)
        raise ChildFailed(f"reading the drop took longer than the {limits.seconds:g} s limit "
                          "(ABSENCE_INGEST_TIMEOUT)")
    _, status = os.waitpid(pid, 0)
    if not data:
        raise ChildFailed(_death(status, limits))
    kind, payload = pickle.loads(data)
    if kind == "ok":
        return payload
    if kind == "drop_error":
        raise DropError(**payload)
    if kind == "memory":
        raise ChildFailed(_memory_message(limits))
    raise ChildFailed(f"reading the drop failed unexpectedly ({payload}); the drop is kept, "
                      "the run log has the trace")


def _child_main(write_end: int, fn, args, memory_bytes: int) -> None:
    code = 0
    try:
        start_child()
        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        try:
            message = ("ok", fn(*args))
        except DropError as exc:
            message = ("drop_error", exc.fields())
        except MemoryError:
            message = ("memory", None)
        except Exception as exc:  # a bug or an unforeseen input: the type, never the text
            traceback.print_tb(exc.__traceback__, file=sys.stderr)
            message = ("crash", type(exc).__name__)
        data = pickle.dumps(message)
        view = memoryview(data)
        while view:
            written = os.write(write_end, view)
            view = view[written:]
    except BaseException:
        code = 1
    finally:
        # _exit: no atexit handlers, no second flush of the parent's buffers.
        os._exit(code)


def start_child() -> None:
    """What every forked child of ours does first (a drop's reader here, the publishing
    workers of pipelines/publish/workers.py): hold none of the parent's locks, run none of its
    signal handlers (Dagster's, pytest's) and die with it."""
    locks.forget_inherited()
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _die_with_parent() -> None:
    """Linux: the kernel kills the child when the parent dies (a killed run leaves no orphan
    reading on). Elsewhere the child finishes its drop and exits on its own."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _read_all(fd: int, seconds: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe, or (partial, False) on timeout."""
    deadline = time.monotonic() + seconds
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), False
        ready, _, _ = select.select([fd], [], [], min(remaining, 60.0))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _death(status: int, limits: IngestLimits) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        name = signal.Signals(number).name
        if number in (signal.SIGABRT, signal.SIGKILL, signal.SIGSEGV, signal.SIGBUS):
            return f"reading the drop ended abnormally ({name}): {_memory_message(limits)}"
        return f"reading the drop ended abnormally ({name})"
    return f"reading the drop ended abnormally (exit code {os.WEXITSTATUS(status)})"


def _memory_message(limits: IngestLimits) -> str:
    return (f"the drop needs more than the {limits.memory_bytes / (1 << 30):g} GiB memory "
            "limit of one drop (ABSENCE_INGEST_MEMORY_LIMIT) or its files are malformed")
