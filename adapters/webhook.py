"""Digest posts through incoming webhooks, for setups without a bot token.

A webhook subscription names an environment variable (`webhook_env`) that
holds the URL, so the URL, which is a secret, never sits in the config or
the store and never reaches a log line. The URL's shape picks the platform:
`.../api/webhooks/<id>/<token>` is Discord, anything else is a Slack incoming
webhook. Messages are rendered by the same renderers the Slack and Discord
adapters use.

Webhooks cannot be read back, so `find_digest` cannot check whether a digest
went out before a crash: the scheduler resends such a digest once (see
`bot.digest`). Slack webhooks return no message id either; the recorded id is
then `slack-webhook:<period>:<part>`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import aiohttp

from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot.errors import DeliveryError, UserError
from bot.models import DeliveryKey, Reply, Subscription
from bot.retry import RetryPolicy, retry_after_seconds
from bot.subscriptions import webhook_url

log = logging.getLogger(__name__)

# Answers that mean "someone has to fix the webhook", not "try again later".
PERMANENT_STATUSES = {400, 401, 403, 404, 410}
# A longer Retry-After than `max_retry_after` is the next scheduler sweep's job, not this request's.
RETRY = RetryPolicy(attempts=4, first_backoff=2.0, max_backoff=300.0, max_retry_after=300.0)


def webhook_platform(url: str) -> str:
    """"discord" or "slack", from the URL's path."""
    path = urlsplit(url).path
    # discord.com/api/webhooks/<id>/<token>, also with an API version: /api/v10/webhooks/...
    return "discord" if "/api/webhooks/" in path or ("/api/v" in path and "/webhooks/" in path) else "slack"


class WebhookAdapter:
    """Posts digests to Slack and Discord incoming webhooks; answers no commands."""

    name = "webhook"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        max_attempts: int = RETRY.attempts,
        backoff_seconds: float = RETRY.first_backoff,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.env = env
        self.retry = replace(RETRY, attempts=max_attempts, first_backoff=backoff_seconds)
        self.sleep = sleep  # the waits between attempts; tests record them instead
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    def _url(self, subscription: Subscription) -> str:
        try:
            return webhook_url(subscription.webhook_env, self.env)
        except UserError as error:
            raise DeliveryError(error.message, permanent=True) from None

    async def post_digest(self, subscription: Subscription, reply: Reply, key: DeliveryKey) -> list[str]:
        url = self._url(subscription)
        label = f"webhook {subscription.webhook_env}"
        ids: list[str] = []
        if webhook_platform(url) == "discord":
            for part, message in enumerate(discord_render.render_messages(reply)):
                # wait=true makes Discord answer with the message, so its id can be recorded.
                body = await self._post(url, message, label, params={"wait": "true"})
                ids.append(str(body.get("id")) if isinstance(body, dict) and body.get("id") else f"discord-webhook:{key.period}:{part}")
        else:
            for part, message in enumerate(slack_render.render_messages(reply)):
                await self._post(url, message, label)
                ids.append(f"slack-webhook:{key.period}:{part}")
        return ids

    async def find_digest(self, subscription: Subscription, key: DeliveryKey) -> list[str] | None:
        return None  # a webhook cannot read the channel back

    async def _post(self, url: str, payload: dict, label: str, params: dict | None = None) -> Any:
        """POST with retries on 429 (after Retry-After), 5xx and network errors (with backoff)."""
        last_problem = ""
        attempts = self.retry.attempts
        for attempt in range(1, attempts + 1):
            asked = None
            try:
                async with self._http().post(url, json=payload, params=params) as response:
                    text = await response.text()
                    body = _json_or_none(response, text)
                    if response.status < 300:
                        return body
                    detail = _error_detail(body, text)
                    if response.status == 429:
                        asked = retry_after_seconds(response.headers, datetime.now(timezone.utc), body)
                        last_problem = f"rate limited (429{detail})"
                        if self.retry.too_long(asked):
                            raise DeliveryError(
                                f"{label}: {last_problem}; it asks to wait {asked:.0f} s, longer than a delivery "
                                f"waits ({self.retry.max_retry_after:.0f} s): the next sweep retries",
                                permanent=False,
                            )
                    elif response.status in PERMANENT_STATUSES:
                        what = "deleted or revoked" if response.status in (401, 403, 404, 410) else "rejected the message"
                        raise DeliveryError(f"{label} answered {response.status}{detail}: the webhook was {what}; fix the URL and the digest is retried", permanent=response.status != 400)
                    elif response.status >= 500:
                        last_problem = f"server error {response.status}{detail}"
                    else:
                        raise DeliveryError(f"{label} answered {response.status}{detail}", permanent=False)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                last_problem = f"network error ({type(error).__name__})"
            if self.retry.may_retry(attempt):
                wait = self.retry.wait(attempt, asked)
                log.warning("%s: %s; retrying in %.1fs (attempt %d of %d)", label, last_problem, wait, attempt, attempts)
                await self.sleep(wait)
        raise DeliveryError(f"{label}: {last_problem} after {attempts} attempts", permanent=False)


def _json_or_none(response: aiohttp.ClientResponse, text: str) -> Any:
    if "json" not in (response.content_type or ""):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _error_detail(body: Any, text: str) -> str:
    """A short reason from the platform's answer (Slack: `no_service`; Discord: `Unknown Webhook`)."""
    if isinstance(body, dict) and body.get("message"):
        return f": {str(body['message'])[:100]}"
    text = text.strip()
    return f": {text[:100]}" if text and len(text) <= 100 and "<" not in text else ""
