"""APScheduler wiring: when digests and fetches run. The store decides what runs.

Jobs are rebuilt from the subscriptions in the store at start and after every
subscription change; nothing about a subscription lives only in the
scheduler. A digest job only says "now"; `DigestEngine.run_due` works out
which period is due and whether it was already delivered, so a job that fires
twice, late, or not at all (the sweep below catches up) never changes what is
posted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.digest import DigestEngine
from bot.schedule import Schedule, parse_when
from bot.utc import iso

log = logging.getLogger(__name__)

SWEEP_EVERY = timedelta(minutes=15)
DIGEST_JOB_PREFIX = "digest:"


class SubscriptionChanges:
    """The notice "subscriptions changed": the subscription service gives it, the scheduler rebuilds its jobs.

    Why it exists: the subscription service is built before the scheduler (the
    adapters that answer `/paper subscribe` sit between them, and the digest
    engine the scheduler runs needs those adapters), so neither can be handed
    the other; both are handed this instead, and each is complete when built.
    """

    def __init__(self) -> None:
        self._listeners: list[Callable[[], Awaitable[None]]] = []

    def listen(self, listener: Callable[[], Awaitable[None]]) -> None:
        self._listeners.append(listener)

    async def notify(self) -> None:
        for listener in self._listeners:
            await listener()


@dataclass(frozen=True)
class ScheduledFetch:
    """The arXiv fetch as the scheduler sees it: what to run, when, and when it last succeeded."""

    run: Callable[[], Awaitable[None]]
    schedule: Schedule
    last_success: Callable[[], Awaitable[datetime | None]]


class BotScheduler:
    def __init__(
        self, engine: DigestEngine, *, fetch: ScheduledFetch | None = None, changes: SubscriptionChanges | None = None,
    ) -> None:
        self.engine = engine
        self.fetch = fetch
        if changes is not None:
            changes.listen(self.rebuild)
        self.scheduler: AsyncIOScheduler | None = None
        self._background: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Settle what a crash left, deliver what downtime missed, then schedule the future."""
        self.scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self.scheduler.start()
        await self.engine.reconcile()
        await self.rebuild()
        self.scheduler.add_job(
            self.engine.sweep, IntervalTrigger(seconds=SWEEP_EVERY.total_seconds()),
            id="digest-sweep", coalesce=True, max_instances=1, replace_existing=True,
        )
        if self.fetch is not None:
            self.scheduler.add_job(
                self.fetch.run, self.fetch.schedule.trigger(), id="fetch", coalesce=True, max_instances=1,
                misfire_grace_time=3600, replace_existing=True,
            )
            if await self._fetch_overdue(self.fetch):
                self._spawn(self.fetch.run(), "fetch at start")
        await self.engine.run_due()

    async def _fetch_overdue(self, fetch: ScheduledFetch) -> bool:
        """True when the last fetch is older than the schedule's most recent fire time."""
        last = await fetch.last_success()
        previous_fire = fetch.schedule.previous_fire(self.engine.clock.now())
        overdue = last is None or (previous_fire is not None and last < previous_fire)
        log.info("last arXiv fetch: %s; %s", iso(last) if last else "never", "fetching now" if overdue else "next on schedule")
        return overdue

    def _spawn(self, coroutine: Awaitable[None], what: str) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)

        def done(finished: asyncio.Task) -> None:
            self._background.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                log.error("%s failed: %s", what, finished.exception())

        task.add_done_callback(done)

    async def rebuild(self) -> None:
        """Make the digest jobs match the subscriptions in the store."""
        if self.scheduler is None:
            return
        subscriptions = await self.engine.store.subscriptions()
        wanted = {f"{DIGEST_JOB_PREFIX}{s.id}": s for s in subscriptions}
        for job in self.scheduler.get_jobs():
            if job.id.startswith(DIGEST_JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, subscription in wanted.items():
            schedule = parse_when(subscription.when, subscription.timezone)
            self.scheduler.add_job(
                self.engine.run_due, schedule.trigger(), args=[{subscription.id}], id=job_id,
                coalesce=True, max_instances=1, misfire_grace_time=3600, replace_existing=True,
            )
        log.info("scheduled %d digest%s", len(wanted), "" if len(wanted) == 1 else "s")

    def next_runs(self) -> dict[str, datetime | None]:
        if self.scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    async def shutdown(self) -> None:
        """No new jobs; the digest being posted finishes or is cancelled (bounded: `DigestEngine.stop`)
        before APScheduler's shutdown, which would cancel it mid-post and leave it to be resent."""
        if self.scheduler is not None:
            self.scheduler.pause()
        await self.engine.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
