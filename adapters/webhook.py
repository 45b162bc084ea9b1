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
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import urlsplit

import aiohttp

from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot.errors import DeliveryError, UserError
from bot.models import DeliveryKey, Reply, Subscription
from bot.retry_after import parse_retry_after
from bot.subscriptions import webhook_url

log = logging.getLogger(__name__)

# Answers that mean "someone has to fix the webhook", not "try again later".
PERMANENT_STATUSES = {400, 401, 403, 404, 410}
MAX_RETRY_AFTER = 300.0  # a longer wait is the next scheduler sweep's job, not this request's


def webhook_platform(url: str) -> str:
    """"discord" or "slack", from the URL's path."""
    path = urlsplit(url).path
    # discord.com/api/webhooks/<id>/<token>, also with an API version: /api/v10/webhooks/...
    return "discord" if "/api/webhooks/" in path or ("/api/v" in path and "/webhooks/" in path) else "slack"


def retry_after_seconds(headers: Mapping[str, str], body: Any = None) -> float | None:
    """Seconds to wait: Discord's JSON `retry_after` (sub-second) first, else the Retry-After header."""
    if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)):
        return max(0.0, float(body["retry_after"]))
    return parse_retry_after(headers.get("Retry-After"), datetime.now(timezone.utc))


class WebhookAdapter:
    """Posts digests to Slack and Discord incoming webhooks; answers no commands."""

    name = "webhook"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        max_attempts: int = 4,
        backoff_seconds: float = 2.0,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.env = env
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
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
        for attempt in range(1, self.max_attempts + 1):
            wait = self.backoff_seconds * 2 ** (attempt - 1)
            try:
                async with self._http().post(url, json=payload, params=params) as response:
                    text = await response.text()
                    body = _json_or_none(response, text)
                    if response.status < 300:
                        return body
                    detail = _error_detail(body, text)
                    if response.status == 429:
                        retry_after = retry_after_seconds(response.headers, body)
                        wait = min(MAX_RETRY_AFTER, retry_after if retry_after is not None else wait)
                        last_problem = f"rate limited (429{detail})"
                    elif response.status in PERMANENT_STATUSES:
                        what = "deleted or revoked" if response.status in (401, 403, 404, 410) else "rejected the message"
                        raise DeliveryError(f"{label} answered {response.status}{detail}: the webhook was {what}; fix the URL and the digest is retried", permanent=response.status != 400)
                    elif response.status >= 500:
                        last_problem = f"server error {response.status}{detail}"
                    else:
                        raise DeliveryError(f"{label} answered {response.status}{detail}", permanent=False)
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                last_problem = f"network error ({type(error).__name__})"
            if attempt < self.max_attempts:
                log.warning("%s: %s; retrying in %.1fs (attempt %d of %d)", label, last_problem, wait, attempt, self.max_attempts)
                await asyncio.sleep(wait)
        raise DeliveryError(f"{label}: {last_problem} after {self.max_attempts} attempts", permanent=False)


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
