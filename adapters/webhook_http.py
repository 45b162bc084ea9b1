"""POSTing a digest to an incoming webhook, with `bot.retry`'s policy: the one HTTP path under
`adapters/slack/webhook.py` and `adapters/discord/webhook.py`.

Why one module: both platforms' webhooks answer the same ways (429 with
Retry-After, 5xx, network errors, 4xx for a revoked webhook), so waiting,
retrying and turning answers into `DeliveryError`s is written once, as is
posting a digest's messages in order (`RenderedWebhook`); each platform's
module only names its renderer.

- 429: wait for its Retry-After and retry; a longer wait than the policy's
  `max_retry_after` is the next scheduler sweep's job (a temporary failure).
- 5xx and network errors: retry with backoff, `attempts` in all.
- 401/403/404/410: the webhook was deleted or revoked; 400: the message was
  refused. Someone has to fix it, so no retry (permanent, except 400).

The URL is a secret: messages name the `label` (the subscription's
`webhook_env`), never the URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import aiohttp

from bot.errors import DeliveryError
from bot.models import DigestReply, Reply, digest_mark
from bot.retry import RetryPolicy, retry_after_seconds

log = logging.getLogger(__name__)

# Answers that mean "someone has to fix the webhook", not "try again later".
PERMANENT_STATUSES = {400, 401, 403, 404, 410}
# A longer Retry-After than `max_retry_after` is the next scheduler sweep's job, not this request's.
RETRY = RetryPolicy(attempts=4, first_backoff=2.0, max_backoff=300.0, max_retry_after=300.0)


class WebhookHttp:
    """One aiohttp session (opened on first use) and the retry loop for webhook POSTs."""

    def __init__(
        self,
        *,
        retry: RetryPolicy = RETRY,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.retry = retry
        self.sleep = sleep  # the waits between attempts; tests record them instead
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, url: str, payload: dict, label: str, params: dict | None = None) -> Any:
        """POST `payload` as JSON; the answer's JSON (None when it has none). Raises `DeliveryError`."""
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
                        raise DeliveryError(
                            f"{label} answered {response.status}{detail}: the webhook was {what}; "
                            "fix the URL and the digest is retried",
                            permanent=response.status != 400,
                        )
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


class RenderedWebhook:
    """A platform's webhook poster (`bot.webhooks.WebhookPoster`): its renderer's messages, POSTed in order.

    The recorded id of a message is the one the platform answers with (Discord,
    asked with `wait=true`), else a stand-in `<name>:<period>:<part>` (Slack
    answers `ok`)."""

    def __init__(
        self, name: str, render: Callable[[Reply], list[dict[str, Any]]], http: WebhookHttp, params: dict | None = None
    ) -> None:
        self.name = name
        self.render = render
        self.http = http
        self.params = params

    async def post_digest(self, url: str, reply: DigestReply, label: str) -> list[str]:
        period = digest_mark(reply).key.period
        ids = []
        for part, message in enumerate(self.render(reply)):
            body = await self.http.post(url, message, label, params=self.params)
            ids.append(str(body["id"]) if isinstance(body, dict) and body.get("id") else f"{self.name}:{period}:{part}")
        return ids

    async def close(self) -> None:
        await self.http.close()


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
