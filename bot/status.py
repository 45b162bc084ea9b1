"""`paperbot status`: what an operator checks first when a digest did not show up.

Gathers, without sending anything: every subscription with its next run, its
last delivery and any failure; digests claimed but not yet confirmed (they are
settled at the next start); and each fetched topic's last success and error.
Gathering reads the store; rendering is pure, as text or as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.digest import iso
from bot.models import Delivery, Topic
from bot.subscriptions import SubscriptionService, SubscriptionStatus, describe_last, describe_next


@dataclass(frozen=True)
class FetchStatus:
    topic: str
    last_success: datetime | None
    last_error: tuple[datetime | None, str] | None


@dataclass(frozen=True)
class BotStatus:
    now: datetime
    subscriptions: tuple[SubscriptionStatus, ...]
    pending: tuple[Delivery, ...]
    fetches: tuple[FetchStatus, ...]

    @property
    def failing(self) -> int:
        return sum(1 for status in self.subscriptions if status.subscription.failing)


async def gather_status(subscriptions: SubscriptionService, fetched_topics: list[Topic]) -> BotStatus:
    from bot.ingest.arxiv import last_error, last_fetch

    store = subscriptions.store
    fetches = [FetchStatus(t.name, await last_fetch(store, t), await last_error(store, t)) for t in fetched_topics]
    return BotStatus(
        now=subscriptions.engine.clock.now(),
        subscriptions=tuple(await subscriptions.statuses()),
        pending=tuple(await store.pending_deliveries()),
        fetches=tuple(fetches),
    )


def _time(moment: datetime | None) -> str:
    return iso(moment).replace("T", " ").replace("Z", " UTC") if moment else "never"


def render_status(status: BotStatus) -> str:
    lines = [f"paperbot status at {_time(status.now)}", ""]
    count = len(status.subscriptions)
    lines.append(f"Subscriptions: {count}" + (f", {status.failing} FAILING" if status.failing else ""))
    if not count:
        lines.append("  none: add [[subscriptions]] to the config or use /paper subscribe <topic> in a channel")
    for item in status.subscriptions:
        sub = item.subscription
        where = sub.channel.key + (f" (webhook ${sub.webhook_env})" if sub.webhook_env else "")
        lines.append(f"  #{sub.id} {sub.topic} -> {where}  [{sub.when} {sub.timezone}, from {sub.source}]")
        lines.append(f"      next run: {describe_next(item)}")
        lines.append(f"      last:     {describe_last(item.last_delivery)}")
        if sub.failing:
            since = (sub.failing_since or "").replace("T", " ").replace("Z", " UTC")
            lines.append(f"      FAILING since {since}: {sub.failing}")
    if status.pending:
        lines += ["", f"Digests claimed but not confirmed: {len(status.pending)} (settled at the next start)"]
        lines += [f"  subscription #{d.subscription_id} {d.period}, claimed {d.claimed_at}" for d in status.pending]
    if status.fetches:
        lines += ["", "arXiv fetches:"]
        for fetch in status.fetches:
            line = f"  {fetch.topic}: last success {_time(fetch.last_success)}"
            if fetch.last_error is not None:
                when, message = fetch.last_error
                if fetch.last_success is None or (when is not None and when > fetch.last_success):
                    line += f"; last error {_time(when)}: {message}"
            lines.append(line)
    return "\n".join(lines)


def status_json(status: BotStatus) -> dict[str, Any]:
    def delivery(d: Delivery | None) -> dict[str, Any] | None:
        if d is None:
            return None
        return {"period": d.period, "state": d.state, "papers": len(d.paper_ids), "fire_time": d.fire_time,
                "sent_at": d.sent_at, "message_ids": list(d.message_ids), "note": d.note}

    return {
        "now": iso(status.now),
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
                "last_delivery": delivery(s.last_delivery),
                "failing": s.subscription.failing,
                "failing_since": s.subscription.failing_since,
            }
            for s in status.subscriptions
        ],
        "pending": [delivery(d) | {"subscription_id": d.subscription_id} for d in status.pending],
        "fetches": [
            {
                "topic": f.topic,
                "last_success": iso(f.last_success) if f.last_success else None,
                "last_error": {"time": iso(f.last_error[0]) if f.last_error[0] else None, "message": f.last_error[1]} if f.last_error else None,
            }
            for f in status.fetches
        ],
    }
