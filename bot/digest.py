"""What goes in a digest and when, and delivering it exactly once.

A subscription fires on its schedule; each fire closes a *period* (`2025-W23`).
Delivering a period is three steps, each durable before the next:

1. claim: one transaction writes the (subscription, period) delivery row and
   reserves the (channel, paper) rows, so no other digest can take those
   papers and no restart can claim the period again;
2. send: the adapter posts; the reply carries its `DigestMark` (delivery
   key, topic, paper count) and the adapter writes it as a marker its
   platform keeps (Slack message metadata, a Discord embed footer);
3. record: the platform's message ids go into the delivery row.

Content: a digest takes the papers that joined its topic after the previous
digest's `until_seq` and up to the store's membership sequence when it reads
(commit order, see `store.sqlite.subscriptions`), so a paper committed in the same
second as a digest, or by a slow import that started before it, still lands
in exactly one digest. A first digest (or the first after a subscription was
re-added) looks back one period of time only.

At start, claims that were never recorded are reconciled: an adapter that can
look (`find_digest`) says whether the post exists, and it is recorded or sent;
an adapter that cannot (webhooks, the console) gets the digest resent once,
so a crash exactly between send and record may show it twice there, never
zero times. A graceful stop does not: `stop` lets the delivery under way
finish (for at most the grace period) before the adapters close. A send that
fails releases the claim and marks the subscription failing, so the period is
retried after the fix. A send that succeeded but could not be recorded (a full
disk, a read-only store) is kept in memory and recorded at the next fire,
sweep or stop once the store takes writes again; it is never resent by this
process.

A failure of the store while delivering is one log line (ERROR, then INFO
while it repeats) and marks the subscription failing with the reason;
success clears it.

Ranked digests: in a channel with a library (`bot.ranking`), a digest takes
up to `RANK_POOL` of its newest candidates, orders them by the library's model
and shows the best `max_papers` with a why line each; papers scoring below the
subscription's `min_score` are left out of the cards and counted in "and N
more". The window, the claim and the rest are the same as newest first: the
claim holds exactly the papers shown. Without a library (or one with nothing
to learn from yet), digests stay newest first.

Missed periods: only the newest fire at or before now is ever delivered, and
only if it is at most `max_lateness` old; the content window always starts at
the previous delivered digest, so several missed weeks coalesce into one post
and nothing is lost. All time comes from the injected Clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, AsyncIterator, Callable, Mapping, Protocol, Sequence

from bot.errors import DeliveryError, UserError
from bot.filters import FOLLOWED_WHY, DigestFilter
from bot.models import ChannelRef, Delivery, DeliveryKey, DigestMark, DigestReply, Figure, NoticeReply, Paper, Subscription, Topic
from bot.ports import ChatAdapter, Clock, FullTextStore, PaperStore, SubscriptionStore
from bot.presenter import paper_list
from bot.schedule import Schedule, parse_when
from bot.utc import iso, parse_iso

if TYPE_CHECKING:  # the ranker pulls in scikit-learn: only a bot with libraries imports it
    from bot.rank import RankModel

log = logging.getLogger(__name__)

DEFAULT_MAX_LATENESS = timedelta(days=2)
# Under Docker's default 10 s between SIGTERM and SIGKILL, with time left to close the adapters.
DEFAULT_STOP_GRACE = timedelta(seconds=8)
CADENCE_WORDS = {"weekly": "this week", "daily": "today", "cron": "this period"}
# A ranked digest orders at most this many of its newest candidates (ranking 1,000 takes ~30 ms).
RANK_POOL = 1000


class DigestRanker(Protocol):
    """What ranks a channel's digests (`bot.ranking.Ranking`)."""

    async def channel_model(self, channel: ChannelRef) -> RankModel | None:
        """The model of the channel's library; None: newest first."""
        ...


@dataclass(frozen=True)
class DigestPlan:
    """What the next digest of a subscription would contain, computed without side effects.

    Its papers joined the topic after membership `after_seq` and up to `upto_seq`,
    and, for a first digest, after `since`."""

    subscription: Subscription
    schedule: Schedule
    fire_time: datetime
    period: str
    since: datetime | None
    after_seq: int
    upto_seq: int
    papers: tuple[Paper, ...]
    total: int
    whys: Mapping[str, str] | None = None  # a ranked digest's why lines by arxiv_id; None: newest first
    ranked: bool = False  # ordered by the channel's library (a digest with followed authors has whys without it)

    @property
    def key(self) -> DeliveryKey:
        return DeliveryKey(self.subscription.id, self.period)


def digest_reply(
    topic: Topic, period: str, papers: Sequence[Paper], total: int, lang: str, cadence: str,
    figures: Mapping[str, Figure] | None = None, whys: Mapping[str, str] | None = None, *, key: DeliveryKey | None = None,
    ranked: bool = False,
) -> DigestReply:  # fmt: skip
    """The post: header with topic, period and count; one card per paper (with its key figure, when
    `figures` has it: subscriptions with `figures = true`; with its why line when ranked: `whys`);
    "and N more".

    With `key` (a delivery, not a preview) the reply carries its `DigestMark`, which
    adapters read a posted digest back by; the wording here is for people only."""
    title = topic.display_title
    mark = DigestMark(key, topic, len(papers)) if key is not None else None
    when = CADENCE_WORDS.get(cadence, "this period")
    count = f"{total} new paper{'s' if total != 1 else ''}"
    if not papers and total:
        return NoticeReply(
            (f"{count} on {title} {when} ({period}), none close enough to this channel's library — /paper latest {topic.name}",),
            digest=mark,
        )
    if not papers:
        return NoticeReply((f"No new papers on {title} {when} ({period}).",), digest=mark)
    footer: tuple[str, ...] = ()
    if total > len(papers):
        footer = (f"and {total - len(papers)} more — /paper latest {topic.name}",)
    header = f"{count} on {title} · {period}" + (" · ranked by this channel's library" if ranked else "")
    reply = paper_list(header, list(papers), lang, empty_text="", footer=footer, figures=figures, whys=whys, votable=True)
    return replace(reply, digest=mark)


@dataclass(eq=False)
class DigestPlanner:
    """What the next digest of a subscription contains and when it is due: reads only, never posts.

    Why it is apart from the engine: `/paper subscribe` and `/paper digest` (the
    subscription service) need plans before any adapter exists, and the adapters
    need those commands; so the composition builds a planner, then the adapters,
    then the engine that delivers through them."""

    store: SubscriptionStore
    papers: PaperStore
    topics: Mapping[str, Topic]
    clock: Clock = field(kw_only=True)
    ranker: DigestRanker | None = field(default=None, kw_only=True)

    # --- planning (pure reads) --------------------------------------------------------

    def topic(self, name: str) -> Topic:
        return self.topics.get(name) or Topic(name)

    async def window(self, subscription: Subscription, schedule: Schedule, fire_time: datetime) -> tuple[int, datetime | None]:
        """(after_seq, since): after the previous digest; a first digest looks back one period only."""
        last = await self.store.last_delivery(subscription.id, before=iso(fire_time))
        active_since = parse_iso(subscription.created_at) if subscription.created_at else None
        if (
            last is not None
            and last.until_seq is not None
            and (active_since is None or parse_iso(last.fire_time) >= active_since)
        ):
            return last.until_seq, None
        # A first digest, or the first since the subscription came back: anchored at its first
        # fire, so a skipped first digest loses nothing, and never repeating what it had before.
        after_seq = (last.until_seq or 0) if last is not None else 0
        anchor = fire_time
        if active_since is not None:
            first_fire = schedule.next_fire(active_since - timedelta(microseconds=1))
            if first_fire is not None and first_fire < fire_time:
                anchor = first_fire
        previous = schedule.previous_fire(anchor - timedelta(seconds=1))
        return after_seq, previous if previous is not None else anchor - timedelta(days=7)

    async def plan(self, subscription: Subscription, fire_time: datetime) -> DigestPlan:
        schedule = parse_when(subscription.when, subscription.timezone)
        after_seq, since = await self.window(subscription, schedule, fire_time)
        upto_seq = await self.store.membership_sequence()
        model = await self.ranker.channel_model(subscription.channel) if self.ranker is not None else None
        filters = DigestFilter.of(subscription)
        papers, total = await self.store.digest_candidates(
            subscription.topic, subscription.channel.key, iso(since) if since else None, None,
            RANK_POOL if model is not None or filters else subscription.max_papers, after_seq=after_seq, upto_seq=upto_seq,
        )  # fmt: skip
        pinned: list[tuple[Paper, str]] = []
        if filters:
            # A paper the filters drop is neither shown nor counted; followed authors' papers come first.
            kept, pinned = filters.apply(papers)
            total -= len(papers) - len(kept)
            pinned_ids = {paper.arxiv_id for paper, _ in pinned}
            papers = [paper for paper in kept if paper.arxiv_id not in pinned_ids]
        room = max(subscription.max_papers - len(pinned), 0)
        whys: dict[str, str] | None = None
        if model is not None:
            ranked = model.rank(papers, limit=room)
            if subscription.min_score is not None:
                ranked = [r for r in ranked if r.score >= subscription.min_score]
            papers = [r.paper for r in ranked]
            whys = {r.paper.arxiv_id: r.why.text for r in ranked if r.why is not None}
        else:
            papers = papers[:room]
        if pinned:
            whys = {**{paper.arxiv_id: f"{FOLLOWED_WHY} ({name})" for paper, name in pinned}, **(whys or {})}
            papers = [paper for paper, _ in pinned] + papers
        return DigestPlan(
            subscription, schedule, fire_time, schedule.period(fire_time), since, after_seq, upto_seq, tuple(papers), total, whys,
            ranked=model is not None,
        )

    async def plan_ranked(self) -> int:
        """Plan every digest of a channel with a library now and forget the plans: the papers they
        will rank are cut into terms (cached) before the digest fires. Returns how many were planned."""
        if self.ranker is None:
            return 0
        planned = 0
        now = self.clock.now()
        for subscription in await self.store.subscriptions():
            if await self.ranker.channel_model(subscription.channel) is not None:
                await self.plan(subscription, now)
                planned += 1
        return planned

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


class DigestEngine(DigestPlanner):
    """Decides which digests are due, builds them, and delivers each period exactly once."""

    def __init__(
        self,
        store: SubscriptionStore,
        papers: PaperStore,
        adapters: Mapping[str, ChatAdapter],
        topics: Mapping[str, Topic],
        *,
        clock: Clock,
        max_lateness: timedelta = DEFAULT_MAX_LATENESS,
        stop_grace: timedelta = DEFAULT_STOP_GRACE,
        on_step: Callable[[str, DeliveryKey], None] | None = None,
        fulltext: FullTextStore | None = None,
        ranker: DigestRanker | None = None,
    ) -> None:
        super().__init__(store, papers, topics, clock=clock, ranker=ranker)
        self.fulltext = fulltext  # key figures for subscriptions with `figures = true`
        self.adapters = adapters
        self.max_lateness = max_lateness
        self.stop_grace = stop_grace
        # Test seam for crash injection between the steps of a delivery.
        self.on_step = on_step or (lambda step, key: None)
        # One delivery at a time: two digests for one channel must not both take the same paper.
        self._lock = asyncio.Lock()
        self._passes: set[asyncio.Task] = set()  # tasks inside run_due/reconcile, for stop to wait on
        self._stopping = False
        self._posting: set[DeliveryKey] = set()  # digests between claim and record: what a stop waits for
        # Store writes owed after a store failure, retried before every pass and at stop:
        # digests posted but not recorded (message ids, sent_at), and claims to release.
        self._unrecorded: dict[DeliveryKey, tuple[tuple[str, ...], str]] = {}
        self._unreleased: set[DeliveryKey] = set()
        self._last_failure: dict[int, str] = {}

    # --- running ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _pass(self) -> AsyncIterator[bool]:
        """One pass of deliveries: one at a time, visible to `stop`; yields False once stopping."""
        task = asyncio.current_task()
        if task is not None:
            self._passes.add(task)
        try:
            async with self._lock:
                if not self._stopping:
                    await self._settle_owed_writes()
                yield not self._stopping
        finally:
            self._passes.discard(task)

    async def run_due(self, subscription_ids: set[int] | None = None) -> None:
        """Deliver every due digest (all subscriptions, or only those given). Never raises for one bad channel."""
        async with self._pass() as running:
            if not running:
                return
            now = self.clock.now()
            try:
                subscriptions = await self.store.subscriptions()
            except Exception as error:
                self._log_failure(0, "digests", error, "not checked")
                return
            for subscription in subscriptions:
                if self._stopping:
                    return
                if subscription_ids is not None and subscription.id not in subscription_ids:
                    continue
                try:
                    await self.run_subscription(subscription, now)
                except Exception as error:
                    await self._failed(subscription, error, "not delivered")

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
            await self.store.record_skipped(
                subscription.id, period, iso(fire), f"missed by {lateness}; max_lateness is {self.max_lateness}"
            )
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
        claim = (key, iso(plan.fire_time), subscription.channel.key)
        if not plan.papers:
            state = "claimed" if subscription.post_empty else "empty"
            if not await self.store.claim_delivery(*claim, (), 0, state=state, until_seq=plan.upto_seq):
                return
            if not subscription.post_empty:
                log.info("digest %s for %s: no new papers, nothing posted", plan.period, where)
                await self._succeeded(subscription)
                return
        elif not await self.store.claim_delivery(
            *claim, tuple(p.arxiv_id for p in plan.papers), plan.total, until_seq=plan.upto_seq
        ):
            return
        self.on_step("claimed", key)
        reply = digest_reply(
            self.topic(subscription.topic), plan.period, plan.papers, plan.total, subscription.language,
            plan.schedule.cadence, await self._figures(subscription, plan.papers), plan.whys, key=key, ranked=plan.ranked,
        )
        await self._send_and_record(subscription, key, reply, len(plan.papers))

    async def _send_and_record(self, subscription: Subscription, key: DeliveryKey, reply: DigestReply, count: int) -> None:
        where = self._where(subscription)
        adapter = self.adapters.get(subscription.channel.adapter)
        try:
            if adapter is None:
                raise DeliveryError(f"the {subscription.channel.adapter} adapter is not running (missing token?)", permanent=True)
            self._posting.add(key)
            try:
                message_ids = await adapter.post_digest(subscription, reply)
            finally:
                self._posting.discard(key)
        except DeliveryError as error:
            await self._release(key)
            # The sweep retries every 15 minutes: the first failure is an error, the same one again is not news.
            if subscription.failing == error.message:
                log.info("digest %s for %s still not delivered: %s; will retry", key.period, where, error.message)
                return
            await self.store.set_subscription_failure(subscription.id, error.message, iso(self.clock.now()))
            log.error("digest %s for %s not delivered: %s; will retry", key.period, where, error.message)
            return
        except asyncio.CancelledError:
            log.warning(
                "digest %s for %s: stopped while posting it; at the next start it is looked up on the platform, "
                "or resent once where that cannot be checked", key.period, where,
            )
            raise
        self.on_step("sent", key)
        sent_at = iso(self.clock.now())
        try:
            await self.store.record_delivery(key, tuple(message_ids), sent_at)
        except BaseException as error:
            # Posted: it must never be posted again. Kept until the store takes the write.
            self._unrecorded[key] = (tuple(message_ids), sent_at)
            if isinstance(error, Exception):
                await self._failed(
                    subscription,
                    error,
                    "was posted but could not be recorded (kept; recorded once the store allows, never reposted)",
                    key.period,
                )
                return
            raise
        await self._succeeded(subscription)
        self.on_step("recorded", key)
        log.info("digest %s for %s delivered: %d paper%s", key.period, where, count, "" if count == 1 else "s")

    async def _figures(self, subscription: Subscription, papers: list[Paper] | tuple[Paper, ...]) -> dict[str, Figure]:
        """The papers' key figures when the subscription wants them; a store failure costs the figures, not the digest."""
        if not subscription.figures or self.fulltext is None or not papers:
            return {}
        try:
            return await self.fulltext.figures(p.arxiv_id for p in papers)
        except Exception as error:
            log.warning(
                "digest for %s: key figures not read (%s); posting without them",
                self._where(subscription),
                self._reason(error) or type(error).__name__,
            )
            return {}

    async def _release(self, key: DeliveryKey) -> None:
        """Give a claim's papers back after a failed send; if the store cannot, remember to."""
        try:
            await self.store.release_delivery(key)
        except Exception as error:
            self._unreleased.add(key)
            log.warning(
                "digest %s: the claim could not be released yet (%s); retrying at the next fire", key.label, self._reason(error)
            )

    async def _settle_owed_writes(self) -> None:
        """Record what was posted and release what was not, for writes the store refused earlier."""
        for key, (message_ids, sent_at) in list(self._unrecorded.items()):
            try:
                await self.store.record_delivery(key, message_ids, sent_at)
                del self._unrecorded[key]
                log.info("digest %s, posted at %s, is now recorded as sent", key.label, sent_at)
                subscription = await self.store.get_subscription(key.subscription_id)
                if subscription is not None:
                    await self._succeeded(subscription)
            except Exception as error:
                log.debug("digest %s still not recorded: %s", key.label, error)
        for key in list(self._unreleased):
            try:
                await self.store.release_delivery(key)
            except Exception as error:
                log.debug("digest %s still not released: %s", key.label, error)
                continue
            self._unreleased.discard(key)

    # --- failures -----------------------------------------------------------------------

    def _reason(self, error: BaseException) -> str | None:
        """A sentence for a known failure (the store's `StoreError`s are `UserError`s too); None for a bug."""
        return str(error) if isinstance(error, UserError) else None

    def _log_failure(self, subscription_id: int, what: str, error: Exception, outcome: str) -> str:
        """One line per failure: ERROR the first time, INFO while the same one repeats; returns the reason."""
        reason = self._reason(error)
        message = reason or f"unexpected error ({type(error).__name__}: {error})"
        repeat = self._last_failure.get(subscription_id) == message
        self._last_failure[subscription_id] = message
        if repeat:
            log.info("%s still %s: %s; will retry", what, outcome, message)
        elif reason is not None:
            log.error("%s %s: %s; will retry", what, outcome, message)
        else:
            log.exception("%s %s: failed unexpectedly; will retry", what, outcome)
        return message

    async def _failed(self, subscription: Subscription, error: Exception, outcome: str, period: str = "") -> None:
        what = f"digest {period} for {self._where(subscription)}" if period else f"digest for {self._where(subscription)}"
        message = self._log_failure(subscription.id, what, error, outcome)
        if subscription.failing == message:
            return
        try:
            await self.store.set_subscription_failure(subscription.id, message, iso(self.clock.now()))
        except Exception as mark_error:  # the store itself is what fails; the mark is retried with the next failure
            log.debug("could not mark subscription %s failing: %s", subscription.id, mark_error)

    async def _succeeded(self, subscription: Subscription) -> None:
        self._last_failure.pop(subscription.id, None)
        if subscription.failing:
            await self.store.set_subscription_failure(subscription.id, None, iso(self.clock.now()))

    # --- start and stop -------------------------------------------------------------------

    async def sweep(self) -> None:
        """The periodic pass: settle claims a crash left (here before a restart, or a replica that died:
        the store lists only claims whose owner's lease ran out), then deliver what is due."""
        await self.reconcile()
        await self.run_due()

    async def reconcile(self) -> None:
        """Settle claims a crash left unrecorded: check where possible, else resend once."""
        async with self._pass() as running:
            if not running:
                return
            now = self.clock.now()
            for delivery in await self.store.pending_deliveries():
                if self._stopping:
                    return
                if delivery.key in self._unrecorded:
                    continue
                subscription = await self.store.get_subscription(delivery.subscription_id)
                if subscription is None:
                    await self.store.release_delivery(delivery.key)
                    continue
                try:
                    await self._reconcile_one(subscription, delivery, now)
                except Exception as error:
                    await self._failed(subscription, error, "not reconciled", delivery.period)

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
            log.warning(
                "digest %s for %s left unconfirmed after a restart; its papers go into the next digest", delivery.period, where
            )
            return
        await self.store.note_delivery_attempt(delivery.key)
        papers = [paper for paper in [await self.papers.get(arxiv_id) for arxiv_id in delivery.paper_ids] if paper]
        schedule = parse_when(subscription.when, subscription.timezone)
        model = await self.ranker.channel_model(subscription.channel) if self.ranker is not None else None
        whys = {r.paper.arxiv_id: r.why.text for r in model.rank(papers) if r.why is not None} if model is not None else None
        reply = digest_reply(
            self.topic(subscription.topic), delivery.period, papers, max(delivery.total, len(papers)), subscription.language,
            schedule.cadence, await self._figures(subscription, papers), whys, key=delivery.key, ranked=model is not None,
        )
        log.info(
            "digest %s for %s was claimed but not recorded before a restart; %s",
            delivery.period,
            where,
            "not found on the platform, sending it" if found == [] else "cannot check this platform, resending once",
        )
        await self._send_and_record(subscription, delivery.key, reply, len(papers))

    async def stop(self) -> None:
        """No new deliveries; the one under way finishes (for at most `stop_grace`) or is cancelled;
        then one last try at the writes the store owes. Call before the adapters close."""
        self._stopping = True
        passes = {task for task in self._passes if not task.done() and task is not asyncio.current_task()}
        if passes:
            if self._posting:
                log.info("waiting up to %s for the digest being delivered (%s)", _short(self.stop_grace),
                         ", ".join(sorted(key.label for key in self._posting)))  # fmt: skip
            else:
                log.debug("waiting up to %s for the digest check under way", _short(self.stop_grace))
            _, unfinished = await asyncio.wait(passes, timeout=self.stop_grace.total_seconds())
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        async with self._lock:
            await self._settle_owed_writes()
        for key, (message_ids, sent_at) in self._unrecorded.items():
            log.error(
                "digest %s was posted at %s (messages %s) but the store could not record it before the stop; "
                "the next start resends it once where the platform cannot be checked", key.label, sent_at, ", ".join(message_ids),
            )

    @staticmethod
    def _where(subscription: Subscription) -> str:
        return f"{subscription.topic} in {subscription.channel.key}"


def _short(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 120:
        return f"{seconds:g} s"
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"
