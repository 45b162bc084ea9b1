"""What goes in a digest and when, and delivering it exactly once.

A subscription fires on its schedule; each fire closes a *period* (`2025-W23`).
Delivering a period is three steps, each durable before the next:

1. claim: one transaction writes the (subscription, period) delivery row and
   reserves the (channel, paper) rows, so no other digest can take those
   papers and no restart can claim the period again;
2. send: the adapter posts, tagged with the delivery key (Slack message
   metadata, a Discord nonce) where the platform allows it;
3. record: the platform's message ids go into the delivery row.

At start, claims that were never recorded are reconciled: an adapter that can
look (`find_digest`) says whether the post exists, and it is recorded or sent;
an adapter that cannot (webhooks, the console) gets the digest resent once,
so a crash exactly between send and record may show it twice there, never
zero times. A send that fails releases the claim and marks the subscription
failing, so the period is retried after the fix.

Missed periods: only the newest fire at or before now is ever delivered, and
only if it is at most `max_lateness` old; the content window always starts at
the previous delivered digest, so several missed weeks coalesce into one post
and nothing is lost. All time comes from the injected Clock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Mapping

from bot.errors import DeliveryError
from bot.models import Delivery, DeliveryKey, NoticeReply, Paper, PaperListReply, Reply, Subscription, Topic
from bot.ports import ChatAdapter, Clock
from bot.presenter import paper_list
from bot.schedule import Schedule, parse_when

log = logging.getLogger(__name__)

DEFAULT_MAX_LATENESS = timedelta(days=2)
CADENCE_WORDS = {"weekly": "this week", "daily": "today", "cron": "this period"}


def iso(moment: datetime) -> str:
    """The store's timestamp format: UTC, seconds, `Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class DigestPlan:
    """What the next digest of a subscription would contain, computed without side effects."""

    subscription: Subscription
    schedule: Schedule
    fire_time: datetime
    period: str
    since: datetime
    papers: tuple[Paper, ...]
    total: int

    @property
    def key(self) -> DeliveryKey:
        return DeliveryKey(self.subscription.id, self.period)


def digest_reply(topic: Topic, period: str, papers: list[Paper] | tuple[Paper, ...], total: int, lang: str, cadence: str) -> Reply:
    """The post: header with topic, period and count; one card per paper; "and N more"."""
    title = topic.display_title
    if not papers:
        return NoticeReply((f"No new papers on {title} {CADENCE_WORDS.get(cadence, 'this period')} ({period}).",))
    count = f"{total} new paper{'s' if total != 1 else ''}"
    footer: tuple[str, ...] = ()
    if total > len(papers):
        footer = (f"and {total - len(papers)} more — /paper latest {topic.name}",)
    return paper_list(f"{count} on {title} · {period}", list(papers), lang, empty_text="", footer=footer)


class DigestEngine:
    """Decides which digests are due, builds them, and delivers each period exactly once."""

    def __init__(
        self,
        store,
        adapters: Mapping[str, ChatAdapter],
        topics: Mapping[str, Topic],
        *,
        clock: Clock,
        max_lateness: timedelta = DEFAULT_MAX_LATENESS,
        on_step: Callable[[str, DeliveryKey], None] | None = None,
    ) -> None:
        self.store = store
        self.adapters = adapters
        self.topics = topics
        self.clock = clock
        self.max_lateness = max_lateness
        # Test seam for crash injection between the steps of a delivery.
        self.on_step = on_step or (lambda step, key: None)
        # One delivery at a time: two digests for one channel must not both take the same paper.
        self._lock = asyncio.Lock()

    # --- planning (pure reads) --------------------------------------------------------

    def topic(self, name: str) -> Topic:
        return self.topics.get(name) or Topic(name)

    async def window_start(self, subscription: Subscription, schedule: Schedule, fire_time: datetime) -> datetime:
        """Since the previous digest; a first digest looks back one period only."""
        last = await self.store.last_delivery(subscription.id, before=iso(fire_time))
        if last is not None:
            return parse_iso(last.fire_time)
        # Anchored at the subscription's first fire, so a skipped first digest loses nothing.
        anchor = fire_time
        if subscription.created_at:
            first_fire = schedule.next_fire(parse_iso(subscription.created_at) - timedelta(microseconds=1))
            if first_fire is not None and first_fire < fire_time:
                anchor = first_fire
        previous = schedule.previous_fire(anchor - timedelta(seconds=1))
        return previous if previous is not None else anchor - timedelta(days=7)

    async def plan(self, subscription: Subscription, fire_time: datetime) -> DigestPlan:
        schedule = parse_when(subscription.when, subscription.timezone)
        since = await self.window_start(subscription, schedule, fire_time)
        papers, total = await self.store.digest_candidates(
            subscription.topic, subscription.channel.key, iso(since), iso(fire_time), subscription.max_papers
        )
        return DigestPlan(subscription, schedule, fire_time, schedule.period(fire_time), since, tuple(papers), total)

    async def preview(self, subscription: Subscription) -> DigestPlan:
        """The digest as if it fired now: for `/paper digest`, records nothing."""
        return await self.plan(subscription, self.clock.now())

    def due_fire(self, subscription: Subscription, now: datetime) -> datetime | None:
        """The newest fire at or before now, if the subscription existed then."""
        schedule = parse_when(subscription.when, subscription.timezone)
        fire = schedule.previous_fire(now)
        if fire is None or (subscription.created_at and fire < parse_iso(subscription.created_at)):
            return None
        return fire

    # --- running ----------------------------------------------------------------------

    async def run_due(self, subscription_ids: set[int] | None = None) -> None:
        """Deliver every due digest (all subscriptions, or only those given). Never raises for one bad channel."""
        async with self._lock:
            now = self.clock.now()
            for subscription in await self.store.subscriptions():
                if subscription_ids is not None and subscription.id not in subscription_ids:
                    continue
                try:
                    await self.run_subscription(subscription, now)
                except Exception:
                    log.exception("digest for subscription %s (%s) failed unexpectedly", subscription.id, subscription.channel.key)

    async def run_subscription(self, subscription: Subscription, now: datetime) -> None:
        fire = self.due_fire(subscription, now)
        if fire is None:
            return
        schedule = parse_when(subscription.when, subscription.timezone)
        period = schedule.period(fire)
        if await self.store.delivery(subscription.id, period) is not None:
            return
        lateness = now - fire
        if lateness > self.max_lateness:
            await self.store.record_skipped(subscription.id, period, iso(fire), f"missed by {lateness}; max_lateness is {self.max_lateness}")
            log.warning(
                "digest %s for %s skipped: its time (%s) passed %s ago, more than max_lateness %s; "
                "its papers go into the next digest",
                period, self._where(subscription), iso(fire), _short(lateness), _short(self.max_lateness),
            )
            return
        await self.deliver(await self.plan(subscription, fire))

    async def deliver(self, plan: DigestPlan) -> None:
        subscription, key = plan.subscription, plan.key
        where = self._where(subscription)
        if not plan.papers:
            claimed = await self.store.claim_delivery(key, iso(plan.fire_time), subscription.channel.key, (), 0, state="empty" if not subscription.post_empty else "claimed")
            if not claimed:
                return
            if not subscription.post_empty:
                log.info("digest %s for %s: no new papers, nothing posted", plan.period, where)
                return
        else:
            claimed = await self.store.claim_delivery(
                key, iso(plan.fire_time), subscription.channel.key, tuple(p.arxiv_id for p in plan.papers), plan.total
            )
            if not claimed:
                return
        self.on_step("claimed", key)
        reply = digest_reply(self.topic(subscription.topic), plan.period, plan.papers, plan.total, subscription.language, plan.schedule.cadence)
        await self._send_and_record(subscription, key, reply, len(plan.papers))

    async def _send_and_record(self, subscription: Subscription, key: DeliveryKey, reply: Reply, count: int) -> None:
        where = self._where(subscription)
        adapter = self.adapters.get(subscription.channel.adapter)
        try:
            if adapter is None:
                raise DeliveryError(f"the {subscription.channel.adapter} adapter is not running (missing token?)", permanent=True)
            message_ids = await adapter.post_digest(subscription, reply, key)
        except DeliveryError as error:
            await self.store.release_delivery(key)
            # The sweep retries every 15 minutes: the first failure is an error, the same one again is not news.
            if subscription.failing == error.message:
                log.info("digest %s for %s still not delivered: %s; will retry", key.period, where, error.message)
                return
            await self.store.set_subscription_failure(subscription.id, error.message, iso(self.clock.now()))
            log.error("digest %s for %s not delivered: %s; will retry", key.period, where, error.message)
            return
        self.on_step("sent", key)
        await self.store.record_delivery(key, tuple(message_ids), iso(self.clock.now()))
        if subscription.failing:
            await self.store.set_subscription_failure(subscription.id, None, iso(self.clock.now()))
        self.on_step("recorded", key)
        log.info("digest %s for %s delivered: %d paper%s", key.period, where, count, "" if count == 1 else "s")

    async def reconcile(self) -> None:
        """Settle claims a crash left unrecorded: check where possible, else resend once."""
        async with self._lock:
            now = self.clock.now()
            for delivery in await self.store.pending_deliveries():
                subscription = await self.store.get_subscription(delivery.subscription_id)
                if subscription is None:
                    await self.store.release_delivery(delivery.key)
                    continue
                try:
                    await self._reconcile_one(subscription, delivery, now)
                except Exception:
                    log.exception("reconciling digest %s failed", delivery.key.label)

    async def _reconcile_one(self, subscription: Subscription, delivery: Delivery, now: datetime) -> None:
        where = self._where(subscription)
        adapter = self.adapters.get(subscription.channel.adapter)
        found = await adapter.find_digest(subscription, delivery.key) if adapter else None
        if found:
            await self.store.record_delivery(delivery.key, tuple(found), iso(now))
            log.info("digest %s for %s was posted before a restart; recorded it", delivery.period, where)
            return
        too_old = now - parse_iso(delivery.fire_time) > self.max_lateness
        if (found is None and delivery.attempts >= 1) or too_old:
            # Unverifiable and already resent once, or too late to matter: give the papers back to the next digest.
            await self.store.release_delivery(delivery.key)
            log.warning("digest %s for %s left unconfirmed after a restart; its papers go into the next digest", delivery.period, where)
            return
        await self.store.note_delivery_attempt(delivery.key)
        papers = [paper for paper in [await self.store.get(arxiv_id) for arxiv_id in delivery.paper_ids] if paper]
        schedule = parse_when(subscription.when, subscription.timezone)
        reply = digest_reply(self.topic(subscription.topic), delivery.period, papers, max(delivery.total, len(papers)), subscription.language, schedule.cadence)
        log.info(
            "digest %s for %s was claimed but not recorded before a restart; %s",
            delivery.period, where, "not found on the platform, sending it" if found == [] else "cannot check this platform, resending once",
        )
        await self._send_and_record(subscription, delivery.key, reply, len(papers))

    @staticmethod
    def _where(subscription: Subscription) -> str:
        return f"{subscription.topic} in {subscription.channel.key}"


def _short(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
