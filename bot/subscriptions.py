"""Subscriptions: who gets which topic's digest, where and when.

Chat (`/paper subscribe`) and the config file (`[[subscriptions]]`) both end
up here, so the admin rule, the topic check and the schedule grammar are
enforced once. The store is the source of truth; after every change the
scheduler is told to rebuild its jobs from it. Only `paperbot run` syncs the
config into the store (`sync_config`); a subscription that left the config is
retired with its delivery history, so putting it back does not repost. A
config subscription is changed in the file, never from chat.

`delivery_blocker` says, from the environment alone, why a subscription's
digests cannot be delivered (a missing token or webhook variable), so `run`
and `status` report it at once instead of at the first digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Awaitable, Callable, Collection, Iterable, Mapping
from urllib.parse import urlsplit

from bot.digest import DigestPlan, DigestPlanner
from bot.errors import UserError
from bot.models import ChannelRef, Delivery, Subscription
from bot.schedule import parse_timezone, parse_when
from bot.service import PaperService
from bot.utc import iso, parse_iso, shown

log = logging.getLogger(__name__)

DEFAULT_WHEN = "mon 09:00"
# The environment variable without which an adapter does not run at all.
TOKEN_VARIABLES = {"slack": "SLACK_BOT_TOKEN", "discord": "DISCORD_TOKEN"}


def webhook_url(variable: str | None, env: Mapping[str, str]) -> str:
    """The URL in the environment variable a webhook subscription names; a UserError names
    the variable (never its value, which is a secret) and the fix."""
    if not variable:
        raise UserError("the subscription names no webhook_env", 'Add webhook_env = "NAME" to its [[subscriptions]] entry.')
    url = env.get(variable, "").strip()
    if not url:
        raise UserError(
            f"environment variable {variable} (the webhook URL) is not set", f"Set {variable} in the bot's environment."
        )
    if urlsplit(url).scheme not in ("http", "https"):
        raise UserError(
            f"environment variable {variable} does not hold an http(s) URL", f"Set {variable} to the webhook's https:// URL."
        )
    return url


def delivery_blocker(subscription: Subscription, env: Mapping[str, str]) -> str | None:
    """Why this environment cannot deliver the subscription's digests, with the fix; None if it can."""
    adapter = subscription.channel.adapter
    variable = TOKEN_VARIABLES.get(adapter)
    if variable is not None and not env.get(variable, "").strip():
        return f"{variable} is not set, so the {adapter} adapter does not run; set {variable} in the bot's environment"
    if adapter == "webhook":
        try:
            webhook_url(subscription.webhook_env, env)
        except UserError as error:
            return str(error)
    return None


@dataclass(frozen=True)
class SubscriptionStatus:
    subscription: Subscription
    next_run: datetime | None
    last_delivery: Delivery | None


class SubscriptionService:
    def __init__(
        self,
        service: PaperService,
        engine: DigestPlanner,  # a DigestEngine is one too; planning is all this needs
        *,
        default_timezone: str = "UTC",
        default_language: str = "en",
        default_when: str = DEFAULT_WHEN,
        on_change: Callable[[], Awaitable[None]] | None = None,
        config_source: str = "the config file",
        configured: Iterable[Subscription] = (),
    ) -> None:
        self.service = service
        self.store = engine.store
        self.engine = engine
        self.default_timezone = default_timezone
        self.default_language = default_language
        self.default_when = default_when  # `/paper subscribe <topic>` without a schedule
        self.on_change = on_change
        self.config_source = config_source
        self.configured = list(configured)  # the file's [[subscriptions]], in order

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

    async def subscribe(
        self, channel: ChannelRef, topic: str, when: str | None, *, is_admin: bool, filters: Mapping[str, Any] | None = None,
    ) -> SubscriptionStatus:  # fmt: skip
        """Subscribe (or change the schedule); `filters` (include, exclude, authors: checked by `bot.filters`)
        replace those of the subscription's filters they name."""
        filters = filters or {}
        self.require_admin(is_admin, "change subscriptions")
        topic_name = await self.service.check_topic(topic)
        schedule = parse_when(when or self.default_when, self.default_timezone)
        existing = {s.topic: s for s in await self.store.subscriptions(channel)}
        current = existing.get(topic_name)
        if current is not None:
            self._refuse_if_from_config(current)
            unchanged = when is None or (current.when, current.timezone) == (schedule.text, schedule.timezone_name)
            if unchanged and all(getattr(current, name) == value for name, value in filters.items()):
                status = await self.status(current)
                raise UserError(
                    f"Already subscribed: {topic_name} digests here, {current.when} {current.timezone}; "
                    f"next digest {describe_next(status)}.",
                    f"Change the schedule with /paper subscribe {topic_name} <when>, "
                    f"or stop with /paper unsubscribe {topic_name}.",
                )
        base = current or Subscription(
            id=0, channel=channel, topic=topic_name, language=self.default_language, source="chat"
        )
        if current is not None and when is None:  # only the filters change
            schedule = parse_when(current.when, current.timezone)
        base = replace(base, **filters)
        saved = await self.store.save_subscription(
            replace(base, when=schedule.text, timezone=schedule.timezone_name, failing=None, failing_since=None)
        )
        log.info(
            "subscription %s: %s in %s, %s",
            "updated" if topic_name in existing else "added",
            topic_name,
            channel.key,
            schedule.describe(),
        )
        await self._changed()
        return await self.status(saved)

    async def unsubscribe(self, channel: ChannelRef, topic: str, *, is_admin: bool) -> None:
        self.require_admin(is_admin, "change subscriptions")
        for current in await self.store.subscriptions(channel):
            if current.topic == topic:
                self._refuse_if_from_config(current)
        if not await self.store.remove_subscription(channel, topic):
            subscribed = [s.topic for s in await self.store.subscriptions(channel)]
            listed = ", ".join(subscribed) if subscribed else "none"
            raise UserError(f"This channel is not subscribed to '{topic}'.", f"Subscriptions here: {listed}.")
        log.info("subscription removed: %s in %s", topic, channel.key)
        await self._changed()

    def config_entry(self, subscription: Subscription) -> str:
        """`[[subscriptions]] #2`: where in the config file a subscription is declared."""
        for number, entry in enumerate(self.configured, 1):
            if (entry.channel.key, entry.topic) == (subscription.channel.key, subscription.topic):
                return f"[[subscriptions]] #{number}"
        return "[[subscriptions]]"

    def _refuse_if_from_config(self, subscription: Subscription) -> None:
        # A chat change would last only until the next start, when the file wins again.
        if subscription.source == "config":
            raise UserError(
                f"The {subscription.topic} digest here is managed by the config file {self.config_source} "
                f"({self.config_entry(subscription)}).",
                "Change or remove it there and restart the bot.",
            )

    async def report_undeliverable(self, env: Mapping[str, str], running: Collection[str]) -> list[tuple[Subscription, str]]:
        """At start: one warning per subscription whose digests cannot go out, naming the fix."""
        problems = []
        for subscription in await self.store.subscriptions():
            adapter = subscription.channel.adapter
            problem = delivery_blocker(subscription, env)
            if problem is None and adapter not in running:
                problem = f"the {adapter} adapter is not running" + (
                    " (it runs only when no chat token is set and standard input is usable)" if adapter == "console" else ""
                )
            if problem is not None:
                log.warning("digests of %s in %s cannot be delivered: %s", subscription.topic, subscription.channel.key, problem)
                problems.append((subscription, problem))
        return problems

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

    async def sync_config(self, configured: Iterable[Subscription] | None = None) -> None:
        """Make the store's config-sourced subscriptions match the file (only `run` does this); chat ones
        are left alone. One that left the file is retired with its history, not deleted."""
        wanted = {(s.channel.key, s.topic): s for s in (self.configured if configured is None else configured)}
        for current in await self.store.subscriptions():
            if current.source == "config" and (current.channel.key, current.topic) not in wanted:
                await self.store.retire_subscription(current.channel, current.topic, iso(self.engine.clock.now()))
                log.info(
                    "subscription retired (no longer in the config; its history is kept): %s in %s",
                    current.topic,
                    current.channel.key,
                )
        existing = {(s.channel.key, s.topic): s for s in await self.store.subscriptions()}
        for key, subscription in wanted.items():
            before = existing.get(key)
            merged = replace(subscription, id=before.id if before else 0, created_at=before.created_at if before else "",
                             failing=before.failing if before else None, failing_since=before.failing_since if before else None)
            if before != merged:
                await self.store.save_subscription(merged)
                log.info(
                    "subscription %s from config: %s in %s",
                    "updated" if before else "added",
                    subscription.topic,
                    subscription.channel.key,
                )


def describe_next(status: SubscriptionStatus) -> str:
    """The next run on the subscription's own clock, with its zone: `2025-06-09 09:00 Europe/Berlin`."""
    if status.next_run is None:
        return "never"
    zone = status.subscription.timezone
    return f"{status.next_run.astimezone(parse_timezone(zone)):%Y-%m-%d %H:%M} {zone}"


def describe_last(delivery: Delivery | None) -> str:
    if delivery is None:
        return "none yet"
    when = shown(delivery.sent_at or delivery.fire_time)
    if delivery.state == "sent":
        return f"{delivery.period}, {len(delivery.paper_ids)} papers, sent {when}"
    if delivery.state == "empty":
        return f"{delivery.period}, nothing new"
    if delivery.state == "skipped":
        return f"{delivery.period}, skipped ({delivery.note})"
    return f"{delivery.period}, claimed {parse_iso(delivery.claimed_at):%Y-%m-%d %H:%M} UTC, not yet confirmed"
