"""Digest posts to Slack channels, tagged so a restart can find them again.

Why this exists: exactly-once delivery (see `bot.digest`) needs the platform
to answer "was this digest already posted?" after a crash between posting and
recording. Every digest message carries Slack message metadata
(`paperbot_digest`, with subscription, period, part and parts, from the
reply's `DigestMark`), and `find_digest` reads the channel's recent history
for that metadata alone, never for the digest's wording.

A digest may take several messages. If posting stops half-way (an error, or a
crash), the parts already posted are deleted before the error is reported (or,
after a crash, when `find_digest` finds an incomplete set), so the retry posts
the whole digest once instead of leaving a torn one behind.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import delivery_error, slack_error_code
from adapters.slack.render import DIGEST_EVENT_TYPE, digest_metadata, render_messages
from bot.models import DeliveryKey, DigestReply, Subscription, digest_mark

log = logging.getLogger(__name__)

HISTORY_PAGE = 200
# Digests are found among the channel's newest messages; a busy channel that
# buried one under 600 newer messages gets it resent, which is the safe side.
HISTORY_PAGES = 3


def digest_messages(reply: DigestReply) -> list[dict[str, Any]]:
    """`chat.postMessage` kwargs (minus channel) for each part of a digest."""
    key = digest_mark(reply).key
    messages = render_messages(reply)
    parts = []
    for part, message in enumerate(messages):
        metadata = digest_metadata(key.subscription_id, key.period)
        metadata["event_payload"].update(part=part, parts=len(messages))
        # Link previews would bury the digest under arXiv cards.
        parts.append({**message, "metadata": metadata, "unfurl_links": False, "unfurl_media": False})
    return parts


async def post_digest(client: AsyncWebClient, subscription: Subscription, reply: DigestReply) -> list[str]:
    channel = subscription.channel
    posted: list[str] = []
    try:
        for message in digest_messages(reply):
            response = await client.chat_postMessage(channel=channel.channel, thread_ts=channel.thread, **message)
            posted.append(str(response["ts"]))
    except Exception as error:
        failure = delivery_error(error, channel.channel)
        await delete_messages(client, channel.channel, posted)
        raise failure from error
    return posted


def _matches(message: Any, key: DeliveryKey) -> int | None:
    """The part number if `message` is part of the digest `key`."""
    if not isinstance(message, dict):
        return None
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != DIGEST_EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    if not isinstance(payload, dict):
        return None
    if str(payload.get("subscription")) != str(key.subscription_id) or payload.get("period") != key.period:
        return None
    part = payload.get("part", 0)
    return part if isinstance(part, int) else None


async def find_digest(client: AsyncWebClient, subscription: Subscription, key: DeliveryKey) -> list[str] | None:
    """The ts of every part of the digest `key` in the channel; [] if absent; None if history is unreadable."""
    channel = subscription.channel
    found: dict[int, str] = {}
    parts_expected: int | None = None
    cursor: str | None = None
    try:
        for _ in range(HISTORY_PAGES):
            args: dict[str, Any] = {"channel": channel.channel, "limit": HISTORY_PAGE, "include_all_metadata": True}
            if cursor:
                args["cursor"] = cursor
            if channel.thread:
                response = await client.conversations_replies(ts=channel.thread, **args)
            else:
                response = await client.conversations_history(**args)
            for message in response.get("messages") or []:
                part = _matches(message, key)
                if part is not None and message.get("ts"):
                    found[part] = str(message["ts"])
                    parts = message["metadata"]["event_payload"].get("parts")
                    parts_expected = parts if isinstance(parts, int) else parts_expected
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor or not response.get("has_more"):
                break
    except SlackApiError as error:
        log.warning(
            "cannot read the history of Slack channel %s (%s); digest %s cannot be checked",
            channel.channel,
            slack_error_code(error),
            key.label,
        )
        return None
    except Exception as error:  # network trouble: cannot check, the engine resends once
        log.warning("cannot read the history of Slack channel %s (%s)", channel.channel, type(error).__name__)
        return None
    if not found:
        return []
    expected = parts_expected or 1
    if sorted(found) != list(range(expected)):
        log.warning(
            "digest %s in %s is incomplete (%d of %d parts); deleting it so it is posted whole",
            key.label,
            channel.channel,
            len(found),
            expected,
        )
        await delete_messages(client, channel.channel, list(found.values()))
        return []
    return [found[part] for part in sorted(found)]


async def delete_messages(client: AsyncWebClient, channel: str, timestamps: list[str]) -> None:
    """Best effort: a torn digest is worse than a missing part, but a failed delete must not hide the real error."""
    for ts in timestamps:
        try:
            await client.chat_delete(channel=channel, ts=ts)
        except Exception as error:
            log.warning("could not delete part %s of a torn digest in %s (%s)", ts, channel, type(error).__name__)
