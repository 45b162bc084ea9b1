"""`paperbot status`: what an operator checks first when a digest did not show up.

Gathers, without sending or writing anything: every subscription in the store
with its next run, its last delivery, any failure, and whether this
environment can deliver it at all (a missing token or webhook variable);
config subscriptions the store does not match yet (`run` syncs them, `status`
never does); digests claimed but not yet confirmed (settled at the next
start); and each fetched topic's last success and error. Anything that needs
attention (a failing or undeliverable subscription, a failing fetch) makes
`needs_attention` true, and the command exits 1 for monitoring.
Gathering reads the store; rendering is pure, as text or as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from bot.models import Delivery, Subscription, Topic
from bot.subscriptions import SubscriptionService, SubscriptionStatus, delivery_blocker, describe_last, describe_next
from bot.utc import iso, shown


@dataclass(frozen=True)
class FetchStatus:
    topic: str
    last_success: datetime | None
    last_error: tuple[datetime | None, str] | None

    @property
    def failing(self) -> bool:
        """The newest attempt failed: an error after the last success (or with none ever)."""
        if self.last_error is None:
            return False
        when, _ = self.last_error
        return self.last_success is None or (when is not None and when > self.last_success)


@dataclass(frozen=True)
class BotStatus:
    now: datetime
    subscriptions: tuple[SubscriptionStatus, ...]
    pending: tuple[Delivery, ...]
    fetches: tuple[FetchStatus, ...]
    blocked: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (channel key, topic) -> why not deliverable
    config_only: tuple[Subscription, ...] = ()  # in the config file, not (yet) in the store
    store_only: tuple[Subscription, ...] = ()  # from a config entry this config file no longer has
    config_source: str = ""

    @property
    def failing(self) -> int:
        return sum(1 for status in self.subscriptions if status.subscription.failing)

    @property
    def needs_attention(self) -> bool:
        return bool(self.failing or self.blocked or any(fetch.failing for fetch in self.fetches))


async def gather_status(
    subscriptions: SubscriptionService, fetched_topics: list[Topic], env: Mapping[str, str] | None = None,
) -> BotStatus:
    """Read-only: the store as `run` left it, compared with (not synced from) the config file."""
    from bot.ingest.arxiv import last_error, last_fetch

    papers = subscriptions.service.store
    fetches = [FetchStatus(t.name, await last_fetch(papers, t), await last_error(papers, t)) for t in fetched_topics]
    statuses = tuple(await subscriptions.statuses())
    in_store = {(s.subscription.channel.key, s.subscription.topic) for s in statuses}
    in_config = {(s.channel.key, s.topic) for s in subscriptions.configured}
    config_only = tuple(s for s in subscriptions.configured if (s.channel.key, s.topic) not in in_store)
    blocked: dict[tuple[str, str], str] = {}
    if env is not None:
        for sub in [item.subscription for item in statuses] + list(config_only):
            problem = delivery_blocker(sub, env)
            if problem is not None:
                blocked[_key(sub)] = problem
    return BotStatus(
        now=subscriptions.engine.clock.now(),
        subscriptions=statuses,
        pending=tuple(await subscriptions.store.pending_deliveries()),
        fetches=tuple(fetches),
        blocked=blocked,
        config_only=config_only,
        store_only=tuple(
            s.subscription for s in statuses
            if s.subscription.source == "config" and (s.subscription.channel.key, s.subscription.topic) not in in_config
        ),
        config_source=subscriptions.config_source,
    )


def _key(sub: Subscription) -> tuple[str, str]:
    return sub.channel.key, sub.topic


def _time(moment: datetime | None) -> str:
    return shown(moment) if moment else "never"


def _where(sub: Subscription) -> str:
    return sub.channel.key + (f" (webhook ${sub.webhook_env})" if sub.webhook_env else "")


def render_status(status: BotStatus) -> str:
    lines = [f"paperbot status at {_time(status.now)}", ""]
    count = len(status.subscriptions)
    problems = [f"{status.failing} FAILING"] if status.failing else []
    problems += [f"{len(status.blocked)} NOT DELIVERABLE"] if status.blocked else []
    lines.append(f"Subscriptions: {count}" + "".join(f", {problem}" for problem in problems))
    if not count:
        lines.append("  none: add [[subscriptions]] to the config or use /paper subscribe <topic> in a channel")
    for item in status.subscriptions:
        sub = item.subscription
        lines.append(f"  #{sub.id} {sub.topic} -> {_where(sub)}  [{sub.when} {sub.timezone}, from {sub.source}]")
        lines.append(f"      next run: {describe_next(item)}")
        lines.append(f"      last:     {describe_last(item.last_delivery)}")
        if sub.failing:
            since = shown(sub.failing_since or "")
            lines.append(f"      FAILING since {since}: {sub.failing}")
        if _key(sub) in status.blocked:
            lines.append(f"      NOT DELIVERABLE: {status.blocked[_key(sub)]}")
    if status.config_only:
        lines += ["", f"In {status.config_source} but not in the store yet (added by the next `paperbot run`):"]
        for sub in status.config_only:
            lines.append(f"  {sub.topic} -> {_where(sub)}  [{sub.when} {sub.timezone}]")
            if _key(sub) in status.blocked:
                lines.append(f"      NOT DELIVERABLE: {status.blocked[_key(sub)]}")
    if status.store_only:
        lines += [
            "",
            f"From config entries {status.config_source} no longer has (retired by the next `paperbot run`, history kept):",
        ]
        lines += [f"  #{sub.id} {sub.topic} -> {_where(sub)}" for sub in status.store_only]
    if status.pending:
        lines += ["", f"Digests claimed but not confirmed: {len(status.pending)} (settled at the next start)"]
        lines += [f"  subscription #{d.subscription_id} {d.period}, claimed {d.claimed_at}" for d in status.pending]
    if status.fetches:
        lines += ["", "arXiv fetches:"]
        for fetch in status.fetches:
            line = f"  {fetch.topic}: last success {_time(fetch.last_success)}"
            if fetch.failing and fetch.last_error is not None:
                when, message = fetch.last_error
                line += f"; FAILING, last error {_time(when)}: {message}"
            lines.append(line)
    return "\n".join(lines)


def status_json(status: BotStatus) -> dict[str, Any]:
    def delivery(d: Delivery) -> dict[str, Any]:
        return {"period": d.period, "state": d.state, "papers": len(d.paper_ids), "fire_time": d.fire_time,
                "sent_at": d.sent_at, "message_ids": list(d.message_ids), "note": d.note}

    return {
        "now": iso(status.now),
        "needs_attention": status.needs_attention,
        "subscriptions": [
            {
                "id": s.subscription.id,
                "topic": s.subscription.topic,
                "channel": s.subscription.channel.key,
                "adapter": s.subscription.channel.adapter,
                "when": s.subscription.when,
                "timezone": s.subscription.timezone,
                "source": s.subscription.source,
                "next_run": iso(s.next_run) if s.next_run else None,
                "last_delivery": None if s.last_delivery is None else delivery(s.last_delivery),
                "failing": s.subscription.failing,
                "failing_since": s.subscription.failing_since,
                "not_deliverable": status.blocked.get(_key(s.subscription)),
            }
            for s in status.subscriptions
        ],
        "config_only": [
            {"topic": s.topic, "channel": s.channel.key, "not_deliverable": status.blocked.get(_key(s))}
            for s in status.config_only
        ],
        "store_only": [{"id": s.id, "topic": s.topic, "channel": s.channel.key} for s in status.store_only],
        "pending": [delivery(d) | {"subscription_id": d.subscription_id} for d in status.pending],
        "fetches": [
            {
                "topic": f.topic,
                "last_success": iso(f.last_success) if f.last_success else None,
                "last_error": {"time": iso(f.last_error[0]) if f.last_error[0] else None, "message": f.last_error[1]}
                if f.last_error
                else None,
                "failing": f.failing,
            }
            for f in status.fetches
        ],
    }
