"""Parsing a snapshot in a worker process, so parsing and indexing use both cores.

Why: importing is two CPU-bound halves of similar cost, reading (JSON, text
clean-up, topic matching) and storing (SQLite and its FTS5 index). In one
process they share one core through the GIL; here the worker parses batch
k+1 while this process stores batch k. The queue holds at most
`QUEUE_BATCHES` batches, so memory stays flat whatever the file size.

Errors keep their meaning: a file that is not a snapshot fails before the
first batch arrives (so nothing is written), and a worker that dies is an
error naming the file, never a silent short import.

What to parse is the caller's (`bot.ingest.snapshot` passes its reader and
its error type), so this module knows processes, not snapshots, and the
importer can import it without either importing the other.

The worker never outlives this process, however it ends. A normal end, an
error or Ctrl-C stop it from `worker_batches`; for SIGKILL and SIGTERM (which
run no Python code here) the worker asks Linux for SIGKILL when its parent
dies (`PR_SET_PDEATHSIG`), and on any platform it watches a pipe whose other
end only this process holds: the pipe closing means the parent is gone. Once
the worker is gone too, multiprocessing's `resource_tracker` sees its own
pipe close and exits. Ctrl-C reaches the whole process group: the worker
ignores it and lets this process decide.
"""

from __future__ import annotations

import asyncio
import copy
import ctypes
import gc
import multiprocessing
import os
import queue as queue_module
import signal
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, AsyncGenerator, Callable, Iterator, Sequence

from bot.errors import IngestError
from bot.models import Paper, Topic

# (path, topics, batch_size, counters) -> the file's papers in batches, updating `counters` as it goes.
# It runs in the worker process, so it must be a module-level function (pickled by its name).
ReadBatches = Callable[[str, Sequence[Topic], int, Any], Iterator[list[Paper]]]

WORKER_MIN_BYTES = 32 * 1024 * 1024  # below this, starting a process costs more than it saves
QUEUE_BATCHES = 3
_POLL_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent_pid: int, lifeline: Connection) -> None:
    """Make sure this worker ends when the process that started it does (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        os._exit(1)
    threading.Thread(target=_exit_when_closed, args=(lifeline,), daemon=True, name="lifeline").start()


def _exit_when_closed(lifeline: Connection) -> None:
    try:
        lifeline.recv_bytes()  # the parent never writes: this returns only when the pipe closes
    except (EOFError, OSError):
        pass
    os._exit(1)


def _parse(
    read: ReadBatches, path: str, topics: Sequence[Topic], batch_size: int, counters: Any,
    out: multiprocessing.Queue, parent_pid: int, lifeline: Connection,
) -> None:  # fmt: skip
    """The worker: parse the file and send (kind, payload, counters) messages.

    Counters go as copies: the queue pickles in a background thread, later,
    when the live object has already moved on.
    """
    _die_with_parent(parent_pid, lifeline)
    # This process holds its modules and a batch or two: only the batches can be garbage, so
    # the collector's full passes need not walk the modules every few batches.
    gc.freeze()
    try:
        for batch in read(path, topics, batch_size, counters):
            out.put(("batch", batch, copy.deepcopy(counters)))
        out.put(("done", None, copy.deepcopy(counters)))
    except IngestError as error:
        out.put(("error", (error.message, error.line, error.hint), copy.deepcopy(counters)))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises it
        out.put(("crash", f"{type(error).__name__}: {error}", copy.deepcopy(counters)))


async def worker_batches(
    path: Path | str, topics: Sequence[Topic], batch_size: int, counters: Any, *,
    read: ReadBatches, error: type[IngestError],
) -> AsyncGenerator[list[Paper], None]:  # fmt: skip
    """The file's papers in batches, `read` by a worker process; `counters` follow its progress.

    The worker starts from a copy of `counters`; a failure is raised as `error`, naming the file.
    """
    name = str(path)
    context = multiprocessing.get_context("spawn")  # no fork: this process runs threads (aiosqlite)
    out: multiprocessing.Queue = context.Queue(maxsize=QUEUE_BATCHES)
    watched, lifeline = context.Pipe(duplex=False)
    worker = context.Process(
        target=_parse, args=(read, name, list(topics), batch_size, counters, out, os.getpid(), watched),
        daemon=True, name="snapshot-parser",
    )  # fmt: skip
    # Started from the event loop's thread, which lives as long as the process: Linux sends
    # the parent-death signal when the *thread* that started the worker ends.
    worker.start()
    watched.close()  # only the worker may hold this end, or the pipe would never close
    try:
        while True:
            kind, payload, state = await asyncio.to_thread(_next_message, out, worker, name, error)
            _copy_counters(state, counters)
            if kind == "batch":
                if payload:
                    yield payload
            elif kind == "done":
                return
            elif kind == "error":
                message, line, hint = payload
                raise error(name, message, line=line, hint=hint)
            else:
                raise error(name, f"the parser failed: {payload}")
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=5)
        out.close()
        lifeline.close()


def _next_message(out: multiprocessing.Queue, worker: Any, name: str, error: type[IngestError]) -> Any:
    while True:
        try:
            return out.get(timeout=_POLL_SECONDS)
        except queue_module.Empty:
            if not worker.is_alive() and out.empty():
                raise error(name, f"the parser process died (exit code {worker.exitcode})") from None


def _copy_counters(source, target) -> None:
    target.lines, target.papers, target.blank_lines = source.lines, source.papers, source.blank_lines
    target.bytes_read = source.bytes_read
    target.skipped, target.topic_matches, target.cut = source.skipped, source.topic_matches, source.cut
