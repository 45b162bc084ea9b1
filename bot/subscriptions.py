"""Subscriptions: who gets which topic's digest, where and when.

Chat (`/paper subscribe`) and the config file (`[[subscriptions]]`) both end
up here, so the admin rule, the topic check and the schedule grammar are
enforced once. The store is the source of truth; after every change the
scheduler is told to rebuild its jobs from it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Awaitable, Callable, Iterable

from bot.digest import DigestEngine, DigestPlan, iso, parse_iso
from bot.errors import UserError
from bot.models import ChannelRef, Delivery, Subscription
from bot.schedule import parse_when
from bot.service import PaperService

log = logging.getLogger(__name__)

DEFAULT_WHEN = "mon 09:00"


@dataclass(frozen=True)
class SubscriptionStatus:
    subscription: Subscription
    next_run: datetime | None
    last_delivery: Delivery | None


class SubscriptionService:
    def __init__(
        self,
        service: PaperService,
        engine: DigestEngine,
        *,
        default_timezone: str = "UTC",
        default_language: str = "en",
        on_change: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.service = service
        self.store = service.store
        self.engine = engine
        self.default_timezone = default_timezone
        self.default_language = default_language
        self.on_change = on_change

    async def _changed(self) -> None:
        if self.on_change is not None:
            await self.on_change()

    @staticmethod
    def require_admin(is_admin: bool, action: str) -> None:
        if not is_admin:
            raise UserError(
                f"Only admins can {action}.",
                "Ask a workspace or server admin; anyone may list subscriptions with /paper subscriptions.",
            )

    async def subscribe(self, channel: ChannelRef, topic: str, when: str | None, *, is_admin: bool) -> SubscriptionStatus:
        self.require_admin(is_admin, "change subscriptions")
        topic_name = await self.service.check_topic(topic)
        schedule = parse_when(when or DEFAULT_WHEN, self.default_timezone)
        existing = {s.topic: s for s in await self.store.subscriptions(channel)}
        base = existing.get(topic_name) or Subscription(
            id=0, channel=channel, topic=topic_name, language=self.default_language, source="chat"
        )
        saved = await self.store.save_subscription(
            replace(base, when=schedule.text, timezone=schedule.timezone_name, failing=None, failing_since=None)
        )
        log.info("subscription %s: %s in %s, %s", "updated" if topic_name in existing else "added", topic_name, channel.key, schedule.describe())
        await self._changed()
        return await self.status(saved)

    async def unsubscribe(self, channel: ChannelRef, topic: str, *, is_admin: bool) -> None:
        self.require_admin(is_admin, "change subscriptions")
        if not await self.store.remove_subscription(channel, topic):
            subscribed = [s.topic for s in await self.store.subscriptions(channel)]
            listed = ", ".join(subscribed) if subscribed else "none"
            raise UserError(f"This channel is not subscribed to '{topic}'.", f"Subscriptions here: {listed}.")
        log.info("subscription removed: %s in %s", topic, channel.key)
        await self._changed()

    async def status(self, subscription: Subscription) -> SubscriptionStatus:
        schedule = parse_when(subscription.when, subscription.timezone)
        return SubscriptionStatus(
            subscription,
            schedule.next_fire(self.engine.clock.now()),
            await self.store.last_delivery(subscription.id),
        )

    async def statuses(self, channel: ChannelRef | None = None) -> list[SubscriptionStatus]:
        return [await self.status(s) for s in await self.store.subscriptions(channel)]

    async def previews(self, channel: ChannelRef | None, topic: str | None) -> list[DigestPlan]:
        """What the next digests in this channel would contain; without a subscription, a one-week preview."""
        topic_name = await self.service.check_topic(topic) if topic else None
        subscriptions = [
            s for s in (await self.store.subscriptions(channel) if channel else [])
            if topic_name is None or s.topic == topic_name
        ]
        if not subscriptions:
            if topic_name is None:
                raise UserError(
                    "This channel has no subscriptions to preview.",
                    "Name a topic (/paper digest <topic>) or subscribe with /paper subscribe <topic> [when].",
                )
            subscriptions = [
                Subscription(id=0, channel=channel or ChannelRef("preview", "preview"), topic=topic_name,
                             timezone=self.default_timezone, language=self.default_language)
            ]
        return [await self.engine.preview(s) for s in subscriptions]

    async def sync_config(self, configured: Iterable[Subscription]) -> None:
        """Make the store's config-sourced subscriptions match the file; chat ones are left alone."""
        wanted = {(s.channel.key, s.topic): s for s in configured}
        for current in await self.store.subscriptions():
            if current.source == "config" and (current.channel.key, current.topic) not in wanted:
                await self.store.remove_subscription(current.channel, current.topic)
                log.info("subscription removed (no longer in the config): %s in %s", current.topic, current.channel.key)
        existing = {(s.channel.key, s.topic): s for s in await self.store.subscriptions()}
        for key, subscription in wanted.items():
            before = existing.get(key)
            merged = replace(subscription, id=before.id if before else 0, created_at=before.created_at if before else "",
                             failing=before.failing if before else None, failing_since=before.failing_since if before else None)
            if before != merged:
                await self.store.save_subscription(merged)
                log.info("subscription %s from config: %s in %s", "updated" if before else "added", subscription.topic, subscription.channel.key)


def describe_next(status: SubscriptionStatus) -> str:
    return iso(status.next_run).replace("T", " ").replace("Z", " UTC") if status.next_run else "never"


def describe_last(delivery: Delivery | None) -> str:
    if delivery is None:
        return "none yet"
    when = (delivery.sent_at or delivery.fire_time).replace("T", " ").replace("Z", " UTC")
    if delivery.state == "sent":
        return f"{delivery.period}, {len(delivery.paper_ids)} papers, sent {when}"
    if delivery.state == "empty":
        return f"{delivery.period}, nothing new"
    if delivery.state == "skipped":
        return f"{delivery.period}, skipped ({delivery.note})"
    return f"{delivery.period}, claimed {parse_iso(delivery.claimed_at):%Y-%m-%d %H:%M} UTC, not yet confirmed"
