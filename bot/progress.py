"""Progress reporting for long jobs (fetches, snapshot imports, notes backfills).

On a terminal a `rich` progress bar; anywhere else (a service, a pipe, CI)
plain log lines at most every `LOG_EVERY_SECONDS`, so logs stay readable and a
stalled job is still visible. Every long job reports through `track` so they
all look the same, and ends with one `run_summary` line for the CLI and the log.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from typing import Iterable, Iterator, Protocol

LOG_EVERY_SECONDS = 10.0
MB = "MB"  # the unit for byte counts: `advance` takes bytes, they are shown in megabytes
_BYTES_PER_MB = 1024 * 1024
# `paperbot run` turns bars off: a bar redrawn for minutes would cover the console's prompt.
# A context variable, so it holds for every task the running bot starts and nowhere else.
show_bars: contextvars.ContextVar[bool] = contextvars.ContextVar("show_bars", default=True)


class Progress(Protocol):
    def advance(self, amount: int = 1) -> None: ...

    def set_total(self, total: int | None) -> None: ...

    def note(self, text: str) -> None:
        """A short status shown beside the bar (or in the next log line)."""
        ...


class SilentProgress:
    """A Progress that shows nothing, for callers that report on their own (benchmarks, tests)."""

    def advance(self, amount: int = 1) -> None:
        pass

    def set_total(self, total: int | None) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class _LogProgress:
    def __init__(self, log: logging.Logger, description: str, total: int | None, unit: str) -> None:
        self.log, self.description, self.total, self.unit = log, description, total, unit
        self.done = 0
        self.status = ""
        self.started = self.last_logged = time.monotonic()

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        now = time.monotonic()
        if now - self.last_logged >= LOG_EVERY_SECONDS:
            self.last_logged = now
            self.log.info("%s: %s", self.description, self.summary(now))

    def set_total(self, total: int | None) -> None:
        self.total = total

    def note(self, text: str) -> None:
        self.status = text

    def summary(self, now: float) -> str:
        scale, digits = (_BYTES_PER_MB, 1) if self.unit == MB else (1, 0)
        of_total = f"/{self.total / scale:,.{digits}f}" if self.total else ""
        rate = self.done / scale / max(now - self.started, 1e-9)
        status = f" ({self.status})" if self.status else ""
        return f"{self.done / scale:,.{digits}f}{of_total} {self.unit}, {rate:,.{digits}f} {self.unit}/s{status}"


class _RichProgress:
    def __init__(self, bar, task_id) -> None:
        self.bar, self.task_id = bar, task_id

    def advance(self, amount: int = 1) -> None:
        self.bar.advance(self.task_id, amount)

    def set_total(self, total: int | None) -> None:
        self.bar.update(self.task_id, total=total)

    def note(self, text: str) -> None:
        self.bar.update(self.task_id, status=text)


def run_summary(head: str, parts: Iterable[str], stopped: str | None) -> str:
    """The line a long job ends with: `head: part, part`, then `; stopped: why` when it stopped early."""
    text = f"{head}: " + ", ".join(parts)
    return text + (f"; stopped: {stopped}" if stopped else "")


def on_terminal() -> bool:
    return show_bars.get() and sys.stderr.isatty()


def _megabytes_column():
    """A rich column showing a task's completed/total bytes in megabytes (`12.5/340.2`)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class MegabytesColumn(ProgressColumn):
        def render(self, task) -> Text:
            total = f"/{task.total / _BYTES_PER_MB:,.1f}" if task.total else ""
            return Text(f"{task.completed / _BYTES_PER_MB:,.1f}{total}")

    return MegabytesColumn()


@contextlib.contextmanager
def track(
    description: str, *, total: int | None = None, unit: str = "papers", log: logging.Logger | None = None
) -> Iterator[Progress]:
    """Report progress of one job; a bar on a terminal, log lines elsewhere."""
    logger = log or logging.getLogger("paperbot.progress")
    if not on_terminal():
        reporter = _LogProgress(logger, description, total, unit)
        yield reporter
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichBar

    with RichBar(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        _megabytes_column() if unit == MB else MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(stderr=True),  # stdout stays clean for --json and pipes
    ) as bar:
        yield _RichProgress(bar, bar.add_task(description, total=total, status=""))
