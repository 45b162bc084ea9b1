"""The `webhook` adapter: digests through incoming webhooks, for setups without a bot token.

A webhook subscription names an environment variable (`webhook_env`) that
holds the URL, so the URL, which is a secret, never sits in the config or the
store and never reaches a log line. Each platform posts through its own
`WebhookPoster` (`adapters/slack/webhook.py`, `adapters/discord/webhook.py`,
found as the `slack-webhook` and `discord-webhook` entry points); the URL's
shape picks the route, as each plugin says which URLs are its own (`claims`,
known even where the poster itself cannot be built). The route without a
shape of its own (Slack's: incoming webhooks behind a proxy have none) takes
every URL no other route claims.

Why in the core: subscriptions name one adapter, `webhook`, whatever the
platform; choosing a route by URL needs no platform code, and this module
imports none.

Webhooks cannot be read back, so `find_digest` cannot check whether a digest
went out before a crash: the scheduler resends such a digest once (see
`bot.digest`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Protocol, Sequence

from bot.errors import DeliveryError, UserError
from bot.models import DeliveryKey, DigestReply, Subscription
from bot.subscriptions import webhook_url


class WebhookPoster(Protocol):
    """One platform's incoming webhooks."""

    name: str

    async def post_digest(self, url: str, reply: DigestReply, label: str) -> list[str]:
        """Post every part of the digest; the message ids (or stand-ins where the platform returns none)."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class WebhookRoute:
    """The URLs one plugin claims (None: every URL no other route claims) and its poster,
    or, when the poster cannot run here, why not and the fix (`missing`)."""

    name: str
    claims: Callable[[str], bool] | None
    poster: WebhookPoster | None
    missing: str = ""


class WebhookAdapter:
    """Posts digests to incoming webhooks through the route that claims the URL; answers no commands."""

    name = "webhook"

    def __init__(self, env: Mapping[str, str], routes: Sequence[WebhookRoute]) -> None:
        self.env = env
        # Routes with a URL shape first: the catch-all must not take a URL another route claims.
        self.routes = sorted(routes, key=lambda route: route.claims is None)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for route in self.routes:
            if route.poster is not None:
                await route.poster.close()

    def poster_for(self, url: str, label: str) -> WebhookPoster:
        for route in self.routes:
            if route.claims is None or route.claims(url):
                if route.poster is None:
                    raise DeliveryError(f"{label} is a {route.name} URL, but {route.missing}", permanent=True)
                return route.poster
        raise DeliveryError(f"{label}: no installed webhook poster takes this URL", permanent=True)

    async def post_digest(self, subscription: Subscription, reply: DigestReply) -> list[str]:
        try:
            url = webhook_url(subscription.webhook_env, self.env)
        except UserError as error:
            raise DeliveryError(error.message, permanent=True) from None
        label = f"webhook {subscription.webhook_env}"
        return await self.poster_for(url, label).post_digest(url, reply, label)

    async def find_digest(self, subscription: Subscription, key: DeliveryKey) -> list[str] | None:
        return None  # a webhook cannot read the channel back
