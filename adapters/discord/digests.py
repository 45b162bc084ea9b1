"""Digest messages on Discord, each carrying a marker this adapter writes and reads back itself.

Why this exists: exactly-once delivery (see `bot.digest`) needs the platform to
answer "was this digest already posted?" after a crash between posting and
recording. Discord echoes a message nonce only in the answer to the create
call, never in channel history, so the nonce (still sent: with
`enforce_nonce` Discord drops a re-post of the same part) cannot answer it.
Every message of a digest therefore carries a marker in the footer of its last
embed, which Discord keeps and shows as small print:

    paperbot digest 12/2025-W23 · part 1/2

`digest_parts` finds a digest among the bot's own messages by that marker
alone: not by the header wording of `bot.digest`, not by `render`'s
"(continued k/n)" label, not by a forum post's title, so rewording any of
them never makes a restart repost. Each message keeps room for its marker
(`render_messages(reserve=...)`), so marking never breaks a Discord limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from adapters.discord.render import MAX_EMBED_TOTAL, MAX_FOOTER, NOTICE_COLOUR, DiscordMessage, embed_size, render_messages
from bot.models import DeliveryKey, DigestReply, digest_mark
from bot.text import shorten

MARK_FORMAT = "paperbot digest {subscription}/{period} · part {part}/{parts}"
_MARK = re.compile(r"^paperbot digest (\d+)/(\S+) · part (\d+)/(\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class PartMark:
    """One message's marker: the digest it belongs to, and which of its parts it is (1-based)."""

    key: DeliveryKey
    part: int
    parts: int

    @property
    def text(self) -> str:
        return MARK_FORMAT.format(subscription=self.key.subscription_id, period=self.key.period, part=self.part, parts=self.parts)


def read_marks(footers: Iterable[str]) -> list[PartMark]:
    """The markers in a message's embed footers (a digest message has one)."""
    return [
        PartMark(DeliveryKey(int(found[1]), found[2]), int(found[3]), int(found[4]))
        for text in footers
        for found in _MARK.finditer(text or "")
    ]


def digest_messages(reply: DigestReply) -> list[DiscordMessage]:
    """The message payloads of a digest, each marked with its part of the digest's key."""
    key = digest_mark(reply).key
    widest = PartMark(key, 999, 999).text
    messages = render_messages(reply, reserve=len(widest) + 1)
    return [with_mark(message, PartMark(key, part, len(messages)).text) for part, message in enumerate(messages, 1)]


def with_mark(message: DiscordMessage, mark: str) -> DiscordMessage:
    """The message with `mark` as the last line of its last embed's footer (a footer-only embed when it has none).

    The room was reserved when rendering; were a footer still too long, its text
    (never the mark) is shortened."""
    embeds = [dict(embed) for embed in message.get("embeds") or ()] or [{"color": NOTICE_COLOUR}]
    last = embeds[-1]
    footer = (last.get("footer") or {}).get("text", "")
    others = sum(embed_size(embed) for embed in embeds) - len(footer)
    room = min(MAX_FOOTER, MAX_EMBED_TOTAL - others) - len(mark) - 1
    kept = shorten(footer, room) if footer and room > 0 else ""
    last["footer"] = {"text": f"{kept}\n{mark}" if kept else mark}
    return {**message, "embeds": embeds}


def digest_parts(messages: Sequence[tuple[str, Sequence[PartMark]]], key: DeliveryKey) -> list[str]:
    """From the bot's own messages (id, markers), oldest first: the ids of the digest `key`'s parts
    in order, from its first part on as far as they follow each other; [] when its first part is absent.
    A digest re-posted by hand is found at its newest copy."""
    found: dict[int, str] = {}
    parts = 0
    for message_id, marks in messages:
        for mark in marks:
            if mark.key == key:
                found[mark.part] = message_id
                parts = mark.parts
    ids = []
    for part in range(1, parts + 1):
        if part not in found:
            break
        ids.append(found[part])
    return ids
