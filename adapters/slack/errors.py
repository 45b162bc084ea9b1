"""What Slack's failures mean for paperbot: retry now, retry later, or someone must fix something.

Why this exists: the digest engine only understands `DeliveryError(permanent=...)`.
Slack answers HTTP 200 with `{"ok": false, "error": "not_in_channel"}` for
most failures and 429 with Retry-After for rate limits; this module turns
both into one clear sentence a workspace admin can act on, and bounds how
long a request may wait for Slack's rate limiter. Messages never contain a
token: they are built from Slack's error codes and channel ids only.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Awaitable, Callable, Optional

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.errors import DeliveryError
from bot.retry import RetryPolicy, retry_after_seconds

log = logging.getLogger(__name__)

# Rate limits only: 3 retries, each after Slack's Retry-After (1 s when it names none). A longer
# wait than `max_retry_after` is the next scheduler sweep's job, not this request's.
RATE_LIMIT_RETRY = RetryPolicy(attempts=4, first_backoff=1.0, max_backoff=1.0, max_retry_after=60.0)

# Error codes that will not go away by retrying: someone has to invite the bot,
# unarchive the channel, add a scope or replace the token.
AUTH_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission"}
PERMANENT_ERRORS = AUTH_ERRORS | {
    "not_in_channel", "channel_not_found", "is_archived", "missing_scope",
    "restricted_action", "team_access_not_granted", "ekm_access_denied",
    "invalid_blocks", "msg_too_long", "invalid_metadata_format", "invalid_metadata_schema",
}


def slack_error_code(error: SlackApiError) -> str:
    data = getattr(error.response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    if not code and getattr(error.response, "status_code", None) == 429:
        return "ratelimited"
    return str(code or f"http_{getattr(error.response, 'status_code', '?')}")


def explain(code: str, channel: str, needed: str | None = None, action: str = "post") -> str:
    """One sentence: what Slack said and what to do about it."""
    if code == "not_in_channel":
        return f"Slack: the bot is not a member of channel {channel} (not_in_channel); invite it with /invite @paperbot"
    if code == "channel_not_found":
        return (
            f"Slack: channel {channel} was not found (channel_not_found); "
            "check the channel id, or invite the bot if it is private"
        )
    if code == "is_archived":
        return f"Slack: channel {channel} is archived (is_archived); unarchive it or remove the subscription"
    if code in AUTH_ERRORS:
        return f"Slack rejected SLACK_BOT_TOKEN ({code}); reinstall the app and set the new bot token"
    if code == "missing_scope":
        scope = f" {needed}" if needed else ""
        return (
            f"Slack: the app lacks the scope{scope} (missing_scope); "
            "add it as in config/slack-manifest.yaml and reinstall the app"
        )
    if code == "ratelimited":
        return f"Slack rate-limited posts to {channel} (ratelimited) even after {RATE_LIMIT_RETRY.attempts - 1} retries"
    return f"Slack refused the {action} to {channel} ({code})"


def delivery_error(error: Exception, channel: str) -> DeliveryError:
    """The DeliveryError for any exception a Web API call raised."""
    if isinstance(error, SlackApiError):
        code = slack_error_code(error)
        data = getattr(error.response, "data", None)
        needed = data.get("needed") if isinstance(data, dict) else None
        return DeliveryError(explain(code, channel, needed), permanent=code in PERMANENT_ERRORS)
    if isinstance(error, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return DeliveryError(f"could not reach Slack ({type(error).__name__})", permanent=False)
    if isinstance(error, SlackClientError):
        return DeliveryError(f"Slack client error ({type(error).__name__})", permanent=False)
    # A bug of ours: logged with its traceback, and the digest is retried later rather than lost.
    log.error("unexpected error talking to Slack", exc_info=error)
    return DeliveryError(f"unexpected error posting to Slack ({type(error).__name__}); see the log", permanent=False)


class BoundedRateLimitRetryHandler(AsyncRetryHandler):
    """Retries a 429 after Slack's Retry-After, as `RATE_LIMIT_RETRY` says.

    slack_sdk's own handler sleeps whatever Retry-After says and cannot read an
    HTTP-date; this one gives up on a wait longer than the policy's
    `max_retry_after` instead, and the scheduler's next sweep retries the
    digest. `sleep` is a seam so tests can see the waits.
    """

    def __init__(
        self,
        policy: RetryPolicy = RATE_LIMIT_RETRY,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(max_retry_count=policy.attempts - 1)
        self.policy = policy
        self.sleep = sleep

    @staticmethod
    def _retry_after(response: HttpResponse) -> float | None:
        headers = {name: values[0] for name, values in response.headers.items() if values}
        return retry_after_seconds(headers, datetime.now(timezone.utc))

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: Optional[HttpResponse] = None,
        error: Optional[Exception] = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        return not self.policy.too_long(self._retry_after(response))

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: Optional[HttpResponse] = None,
        error: Optional[Exception] = None,
    ) -> None:
        asked = self._retry_after(response) if response is not None else None
        wait = self.policy.wait(state.current_attempt + 1, asked)
        log.warning("Slack rate limit on %s; retrying in %.1fs", request.url.rsplit("/", 1)[-1], wait)
        state.next_attempt_requested = True
        await self.sleep(wait)
        state.increment_current_attempt()
