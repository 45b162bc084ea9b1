"""Discord rendering of paperbot replies: neutral `Reply` data in, message payloads out.

Why this module exists: Discord rejects a whole message when any one of its
limits is exceeded, renders markdown and mentions in text we did not write
(paper titles, abstracts, notes, search queries), and can ping a whole server
from an `@everyone` in an abstract. Keeping all of that in pure functions that
return plain dicts means the rules are tested once, with golden files, and the
adapter (and the webhook poster) only sends what comes out of here.

API
---
- `render_messages(reply) -> list[DiscordMessage]`: one reply as one or more
  message payloads shaped like the JSON body of Discord's "create message"
  call: `{"content": str, "embeds": [embed dict, ...], "allowed_mentions":
  {"parse": []}}`. Send them in order. Rendering one page of search results
  is rendering that page's `PaperListReply`. `reserve=N` keeps N embed
  characters free in every message (a digest's marker, `adapters.discord.digests`).
- `to_send_kwargs(message) -> dict`: `content`, `embeds` (as `discord.Embed`)
  and `allowed_mentions=AllowedMentions.none()`, ready for
  `channel.send(**kwargs)` / `interaction.response.send_message(**kwargs)`.
- `forum_post_title(topic_title, period) -> str`: a forum post / thread name
  (at most 100 characters), e.g. `Reward models + VLMs — 2025-W23`.
- `nonce_for(subscription_id, period, part=0) -> str`: a deterministic nonce
  (at most 25 characters) for `enforce_nonce` digest posts, so a retried post
  is not posted twice; `part` = the message's index when a digest is several.
- `check_message_limits(payload) -> list[str]`: every violated Discord limit of
  any message payload (also an interaction callback `{"type": 4, "data": {...}}`
  or a forum thread body `{"name": ..., "message": {...}}`); empty when fine.
  It does not use the renderer's code paths, so it can police any payload.
- `message_payload(body)`: the message dict inside such a body (or None).
- `escape_text(text)`, `safe_url(url)`: the escaping rules, for other callers.

How a reply maps to messages
----------------------------
- `PaperListReply`: the header is the first message's `content`; one embed per
  paper (title linked to arXiv; description = `id · date · authors · [code](…)`
  then the TLDR, and a ranked card's why line in italics); the footer lines are the last embed's footer. Embeds are
  packed greedily, at most 10 and 6000 characters a message; later messages
  say `(continued 2/3)`. An empty list is one embed with `empty_text`. A list
  whose cards take votes (`votable`) packs at most `VOTE_EMBEDS` (5) embeds a
  message, so each message's vote buttons fit (`adapters.discord.votes`).
- `PaperDetailReply`: a paper embed (title linked; description = links line and
  TLDR; fields Authors, arXiv, Published, Topics), a `Key figure` embed (the
  image, the caption as description) when the paper has one, an `Abstract` embed, a notes
  embed (title = the notes label, one field per notes section; a section over
  1024 characters continues in fields named `… (cont.)`, and the notes go on in
  further embeds past 25 fields or 6000 characters), footer lines last.
- `NoticeReply`: one embed, title and lines. `ErrorReply`: one embed in a
  warning colour, the message as title (or description when long) and the hint.
- Text longer than a container (description 4096, field value 1024, content
  2000) is split with `bot.text.split_text` into further embeds or fields,
  at paragraph, line, sentence or word boundaries; never inside a word, a URL
  or a `[label](url)` link. A title over 256 characters is shortened at a word
  and given in full at the top of the description, so no word is lost.

Hostile input (documented exception): a single token with no break in it (a
5,000-character "word", or a URL longer than 4096 characters, which no Discord
text container can hold) is hard-cut into consecutive pieces. Nothing is
dropped even then. URLs longer than 2048 characters are not used as an embed's
`url` (a conservative cap; the link is put in the description instead), and
headings longer than a field name are shortened (they are the bot's own labels).

Safety: every piece of paper or user text goes through `escape_text`
(`discord.utils.escape_markdown`, then mentions neutralised with a zero-width
space (U+200B) after the `@` of `@everyone`/`@here` and after the `<` of
`<@123>`/`<@&123>`/`<#123>`), URLs stay intact (only
`@everyone`/`@here` inside a URL become `%40…`), link targets are http(s) only
with spaces and parentheses percent-encoded, and every message carries
`allowed_mentions: {"parse": []}`. Embed footers do not render markdown, so
footer text is only mention-neutralised, not escaped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any, Iterable, Iterator

import discord
from discord.utils import escape_markdown

from bot.models import (
    DetailSection,
    ErrorReply,
    Figure,
    NoticeReply,
    PaperCard,
    PaperDetailReply,
    PaperListReply,
    Reply,
)
from bot.plaintext import card_meta_line, why_line
from bot.text import shorten, split_text

__all__ = [
    "DiscordMessage",
    "render_messages",
    "to_send_kwargs",
    "forum_post_title",
    "nonce_for",
    "check_message_limits",
    "message_payload",
    "escape_text",
    "safe_url",
]

DiscordMessage = dict[str, Any]

# Discord's documented limits (characters are Unicode code points: the API is
# Python and counts len()).
MAX_CONTENT = 2000
MAX_EMBEDS = 10
# A message of cards that take votes holds at most this many embeds, so one vote button per
# card fits in a row of five (`adapters.discord.votes`).
VOTE_EMBEDS = 5
MAX_EMBED_TOTAL = 6000
MAX_TITLE = 256
MAX_DESCRIPTION = 4096
MAX_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256
MAX_THREAD_NAME = 100
MAX_NONCE = 25
MAX_COMPONENT_ROWS = 5
MAX_ROW_COMPONENTS = 5
MAX_BUTTON_LABEL = 80
MAX_CUSTOM_ID = 100
MAX_WEBHOOK_USERNAME = 80
# Not a documented number: a conservative cap so an embed `url` is never the
# reason a post is rejected. Longer links go into the description.
MAX_EMBED_URL = 2048

PAPER_COLOUR = 0xB31B1B  # arXiv red
NOTICE_COLOUR = 0x5865F2  # Discord blurple
ERROR_COLOUR = 0xF0B232  # warning amber: the user can fix it, nothing is broken

CONTINUED = " (cont.)"
ZWSP = "\u200b"


# --- text safety ----------------------------------------------------------------------

# discord.utils' own URL pattern, so the URL spans we protect are exactly the
# ones escape_markdown left unescaped.
_URL = r"<[^: >]+:/[^ >]+>|(?:https?|steam)://[^\s<]+[^<.,:;\"'\]\s]"
# `<@`/`<#` first: `<@x:/y>` also looks like a URL to discord.utils, and must not slip through as one.
_PINGABLE = re.compile(rf"<(?=[@#])|(?P<url>{_URL})|@(?=everyone|here|[!&]?[0-9]{{17,20}})")
_URL_PING = re.compile(r"@(?=everyone|here)")
_ANGLE_MENTION = re.compile(r"<(?=[@#])")
_URL_UNSAFE = re.compile(r"[\s()<>\"'\\`\x00-\x1f\x7f]")
_HTTP_URL = re.compile(r"(?i)^https?://[^\s/?#]+")


def _neutralise(match: re.Match[str]) -> str:
    url = match.group("url")
    if url is not None:
        # A zero-width space would break the link; %40 is the same URL. The `<…>`
        # form may also swallow a `<@id>` (`<[x](https://a)<@1>`): break that one.
        return _ANGLE_MENTION.sub("<" + ZWSP, _URL_PING.sub("%40", url))
    return match.group(0) + ZWSP


def neutralise_mentions(text: str) -> str:
    """`@everyone`, `@here`, `<@id>`, `<@&id>`, `<#id>` no longer render (or ping) as mentions."""
    return _PINGABLE.sub(_neutralise, text)


def escape_text(text: str) -> str:
    """Paper or user text, safe to put in content, an embed title, description or field."""
    return neutralise_mentions(escape_markdown(text))


def plain_text(text: str) -> str:
    """Text for places Discord shows without markdown (footers): mentions only."""
    return neutralise_mentions(text)


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group(0).encode("utf-8"))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL usable as a link target, or None.

    Whitespace, quotes, `()<>` and backslashes are percent-encoded so a
    `[label](url)` cannot be ended early or a mention smuggled in.
    """
    url = (url or "").strip()
    if not _HTTP_URL.match(url):
        return None
    return _URL_PING.sub("%40", _URL_UNSAFE.sub(_percent_encode, url))


def markdown_link(label: str, url: str) -> str:
    """`[label](url)`; a URL we cannot link (not http(s)) is shown as escaped text."""
    target = safe_url(url)
    if target is None:
        return f"{escape_text(label)}: {escape_text(url)}"
    return f"[{escape_text(label)}]({target})"


def one_line(text: str) -> str:
    """Titles arrive with arXiv's hard line breaks; a title is one line."""
    return " ".join(text.split())


# --- embeds ---------------------------------------------------------------------------


def embed_size(embed: dict) -> int:
    """Characters an embed counts against the 6000-per-message total."""
    size = len(embed.get("title", "")) + len(embed.get("description", ""))
    size += sum(len(field["name"]) + len(field["value"]) for field in embed.get("fields", ()))
    size += len(embed.get("footer", {}).get("text", ""))
    size += len(embed.get("author", {}).get("name", ""))
    return size


def titled(title: str) -> tuple[str, str | None]:
    """An escaped one-line title that fits, and the full title when it had to be shortened."""
    shown = shorten(title, MAX_TITLE)
    return shown, (title if shown != title else None)


def text_embeds(description: str, colour: int, *, title: str = "", url: str | None = None) -> list[dict]:
    """Embeds carrying an (escaped) description; only the first has the title and link."""
    chunks = split_text(description, MAX_DESCRIPTION)
    if not chunks and not title:
        return []
    embeds = []
    for index, chunk in enumerate(chunks or [""]):
        embed: dict[str, Any] = {}
        if index == 0 and title:
            embed["title"] = title
        if index == 0 and url:
            embed["url"] = url
        if chunk:
            embed["description"] = chunk
        embed["color"] = colour
        embeds.append(embed)
    return embeds


def field_parts(name: str, value: str, *, inline: bool = False) -> list[dict]:
    """One field, or several (`name (cont.)`) when the escaped value exceeds 1024 characters."""
    pieces = split_text(value, MAX_FIELD_VALUE)
    first = shorten(name, MAX_FIELD_NAME) if name.strip() else ZWSP
    later = shorten(name, MAX_FIELD_NAME - len(CONTINUED)) + CONTINUED if name.strip() else ZWSP
    inline = inline and len(pieces) == 1
    return [
        {"name": first if index == 0 else later, "value": piece, "inline": inline}
        for index, piece in enumerate(pieces)
    ]


def with_fields(embeds: list[dict], fields: Iterable[dict], colour: int) -> list[dict]:
    """Fields added to the last embed; full embeds (25 fields, 6000 chars) continue untitled."""
    embeds = [dict(embed) for embed in embeds]
    for field in fields:
        last = embeds[-1] if embeds else None
        field_size = len(field["name"]) + len(field["value"])
        if last is None or len(last.get("fields", ())) >= MAX_FIELDS or embed_size(last) + field_size > MAX_EMBED_TOTAL:
            last = {"color": colour}
            embeds.append(last)
        last["fields"] = [*last.get("fields", ()), field]
    return embeds


def with_footer(embeds: list[dict], lines: Iterable[str], colour: int) -> list[dict]:
    """Footer lines as the last embed's footer, or as a closing embed when they do not fit."""
    text = plain_text("\n".join(line for line in lines if line.strip())).strip()
    if not text:
        return embeds
    embeds = [dict(embed) for embed in embeds]
    if embeds and len(text) <= MAX_FOOTER and embed_size(embeds[-1]) + len(text) <= MAX_EMBED_TOTAL:
        embeds[-1]["footer"] = {"text": text}
        return embeds
    return embeds + text_embeds(escape_text(text), colour)


# --- replies --------------------------------------------------------------------------


def link_target(url: str) -> str | None:
    """The embed `url` for a title link, when the URL is linkable and not absurdly long."""
    target = safe_url(url)
    return target if target and len(target) <= MAX_EMBED_URL else None


def card_meta(card: PaperCard, *, title_linked: bool) -> str:
    """`id · date · authors · [code](url)`: the plain-text meta line, with real links."""
    parts = [escape_text(card_meta_line(dataclasses.replace(card, code_url=None)))]
    if not title_linked:
        parts.append(markdown_link("arXiv", card.url))
    if card.code_url:
        parts.append(markdown_link("code", card.code_url))
    return " · ".join(part for part in parts if part)


def card_embeds(card: PaperCard) -> list[dict]:
    title = escape_text(one_line(card.title))
    shown, full = titled(title)
    url = link_target(card.url)
    paragraphs = [f"**{full}**" if full else "", card_meta(card, title_linked=url is not None)]
    if card.tldr:
        paragraphs.append(escape_text(card.tldr))
    if card.why:
        paragraphs.append(f"*{escape_text(one_line(why_line(card)))}*")
    embeds = text_embeds("\n".join(p for p in paragraphs if p), PAPER_COLOUR, title=shown, url=url)
    image = figure_image(card.figure)
    if image is not None:
        embeds[-1] = {**embeds[-1], "image": image}
    return embeds


def figure_image(figure: Figure | None) -> dict | None:
    """An embed `image` for a key figure whose URL Discord can fetch (http(s), not absurdly long)."""
    target = link_target(figure.url) if figure is not None else None
    return {"url": target} if target else None


def figure_embeds(figure: Figure | None) -> list[dict]:
    """The key figure as an embed of its own: the image, its caption as the description."""
    image = figure_image(figure)
    if figure is None or image is None:
        return []
    embeds = text_embeds(escape_text(figure.caption), PAPER_COLOUR, title="Key figure")
    embeds[-1] = {**embeds[-1], "image": image}
    return embeds


def list_embeds(reply: PaperListReply) -> list[dict]:
    if reply.cards:
        embeds = [embed for card in reply.cards for embed in card_embeds(card)]
    else:
        embeds = text_embeds(escape_text(reply.empty_text), PAPER_COLOUR)
    return with_footer(embeds, reply.footer, PAPER_COLOUR)


def detail_links(card: PaperCard) -> str:
    links = [markdown_link("arXiv", card.url)]
    if card.pdf_url:
        links.append(markdown_link("PDF", card.pdf_url))
    if card.code_url:
        links.append(markdown_link("Code", card.code_url))
    return " · ".join(links)


def detail_fields(card: PaperCard) -> list[dict]:
    fields = field_parts("Authors", escape_text(", ".join(card.authors)))
    fields += field_parts("arXiv", escape_text(f"{card.arxiv_id}v{card.version}"), inline=True)
    fields += field_parts("Published", escape_text(card.published), inline=True)
    fields += field_parts("Topics", escape_text(", ".join(card.topics)), inline=True)
    return fields


def section_fields(sections: Iterable[DetailSection]) -> list[dict]:
    return [
        field
        for section in sections
        for field in field_parts(escape_text(one_line(section.heading)), escape_text(section.body))
    ]


def notes_embeds(reply: PaperDetailReply) -> list[dict]:
    if not reply.notes_label and not reply.sections:
        return []
    label = escape_text(one_line(reply.notes_label or "Notes"))
    if len(label) <= MAX_TITLE:
        head = text_embeds("", PAPER_COLOUR, title=label)
    else:
        head = text_embeds(label, PAPER_COLOUR, title="Notes")
    return with_fields(head, section_fields(reply.sections), PAPER_COLOUR)


def detail_embeds(reply: PaperDetailReply) -> list[dict]:
    card = reply.card
    title = escape_text(one_line(card.title))
    shown, full = titled(title)
    paragraphs = [f"**{full}**" if full else "", detail_links(card)]
    if card.tldr:
        paragraphs.append(f"**TLDR:** {escape_text(card.tldr)}")
    paper = text_embeds("\n\n".join(p for p in paragraphs if p), PAPER_COLOUR, title=shown, url=link_target(card.url))
    embeds = with_fields(paper, detail_fields(card), PAPER_COLOUR)
    embeds += figure_embeds(card.figure)
    if reply.abstract.strip():
        embeds += text_embeds(escape_text(reply.abstract), PAPER_COLOUR, title="Abstract")
    embeds += notes_embeds(reply)
    return with_footer(embeds, reply.footer, PAPER_COLOUR)


def notice_embeds(reply: NoticeReply) -> list[dict]:
    body = "\n".join(escape_text(line) for line in reply.lines)
    title = escape_text(one_line(reply.title or ""))
    if len(title) > MAX_TITLE:
        title, body = "", f"**{title}**\n{body}"
    return text_embeds(body, NOTICE_COLOUR, title=title)


def error_embeds(reply: ErrorReply) -> list[dict]:
    message = escape_text(reply.message.strip())
    hint = escape_text(reply.hint.strip()) if reply.hint else ""
    if "\n" not in message and len(message) <= MAX_TITLE:
        return text_embeds(hint, ERROR_COLOUR, title=message)
    return text_embeds("\n\n".join(p for p in (message, hint) if p), ERROR_COLOUR)


def reply_parts(reply: Reply) -> tuple[str, list[dict]]:
    """The escaped header text (for content) and the embeds, before packing."""
    if isinstance(reply, PaperListReply):
        return escape_text(reply.header.strip()), list_embeds(reply)
    if isinstance(reply, PaperDetailReply):
        return "", detail_embeds(reply)
    if isinstance(reply, NoticeReply):
        return "", notice_embeds(reply)
    if isinstance(reply, ErrorReply):
        return "", error_embeds(reply)
    raise TypeError(f"not a reply: {type(reply).__name__}")


def pack_embeds(embeds: list[dict], total: int = MAX_EMBED_TOTAL, most: int = MAX_EMBEDS) -> list[list[dict]]:
    """Greedy groups of at most `most` embeds and `total` characters; each embed already fits alone."""
    groups: list[list[dict]] = []
    size = 0
    for embed in embeds:
        needed = embed_size(embed)
        if not groups or len(groups[-1]) >= most or size + needed > total:
            groups.append([])
            size = 0
        groups[-1].append(embed)
        size += needed
    return groups


def message(content: str, embeds: list[dict]) -> DiscordMessage:
    return {"content": content, "embeds": embeds, "allowed_mentions": {"parse": []}}


def render_messages(reply: Reply, *, reserve: int = 0) -> list[DiscordMessage]:
    """The Discord message payloads for one reply, in sending order, each within every limit,
    with `reserve` embed characters left free in each message (for a digest's marker)."""
    header, embeds = reply_parts(reply)
    if not header and not embeds:  # e.g. an ErrorReply with no words: still say something
        embeds = text_embeds(escape_text(reply.text.strip()) or "…", NOTICE_COLOUR)
    header_parts = split_text(header, MAX_CONTENT)
    votable = isinstance(reply, PaperListReply) and reply.votable
    groups = pack_embeds(embeds, MAX_EMBED_TOTAL - reserve, VOTE_EMBEDS if votable else MAX_EMBEDS)
    # A header too long for one content goes first on its own; its last part rides with the first embeds.
    lead, last = (header_parts[:-1], header_parts[-1]) if header_parts and groups else (header_parts, "")
    messages = [message(part, []) for part in lead]
    messages += [message(last if index == 0 else "", group) for index, group in enumerate(groups)]
    for number, item in enumerate(messages[1:], 2):
        if not item["content"]:
            item["content"] = f"(continued {number}/{len(messages)})"
    return messages


def to_send_kwargs(message: DiscordMessage) -> dict[str, Any]:
    """Keyword arguments for discord.py's send/send_message/edit from one payload dict.

    Build the client with `allowed_mentions=discord.AllowedMentions.none()` as
    well: discord.py then puts it on every send and edit, including ones that
    do not come through here (button-driven page edits, followups).
    """
    return {
        "content": message.get("content") or None,
        "embeds": [discord.Embed.from_dict(embed) for embed in message.get("embeds", ())],
        "allowed_mentions": discord.AllowedMentions.none(),
    }


def forum_post_title(topic_title: str, period: str) -> str:
    """`Reward models + VLMs — 2025-W23`, shortened at a word to Discord's 100-character thread name."""
    topic, period = one_line(topic_title), one_line(period)
    if not topic:
        return shorten(period or "paperbot digest", MAX_THREAD_NAME)
    if not period:
        return shorten(topic, MAX_THREAD_NAME)
    suffix = f" — {period}"
    room = MAX_THREAD_NAME - len(suffix)
    if room < 12:  # an absurd period: keep the topic readable, shorten the whole
        return shorten(topic + suffix, MAX_THREAD_NAME)
    return shorten(topic, room) + suffix


def nonce_for(subscription_id: object, period: str, part: int = 0) -> str:
    """The same (subscription, period) always gives the same nonce, so Discord drops a re-post.

    A digest split over several messages needs one nonce per message (`part` =
    its index): with `enforce_nonce`, Discord would take message 2 for a repeat
    of message 1 if they shared one.
    """
    key = f"{subscription_id}\x1f{period}" + (f"\x1f{part}" if part else "")
    return "pb" + hashlib.sha256(key.encode("utf-8")).hexdigest()[: MAX_NONCE - 2]


# --- checking any payload ---------------------------------------------------------------

_RAW_MENTION = re.compile(r"@everyone|@here|<@")
_MESSAGE_KINDS = (4, 7)  # CHANNEL_MESSAGE_WITH_SOURCE, UPDATE_MESSAGE
_CONTENT_KEYS = ("content", "embeds", "components", "attachments", "sticker_ids", "poll", "files")


def _is_thread_body(body: dict) -> bool:
    # Only thread creation has a "name"; message and callback bodies never do.
    return "name" in body


def _is_interaction_callback(body: dict) -> bool:
    return isinstance(body.get("type"), int) and not any(key in body for key in _CONTENT_KEYS)


def message_payload(body: Any) -> Any:
    """The message inside `body`: an interaction callback's `data`, a forum post's `message`,
    or the body itself. None when the body carries no message (PONG, deferrals, a thread
    without a starter message)."""
    if not isinstance(body, dict):
        return body
    if _is_thread_body(body):
        return body.get("message")
    if _is_interaction_callback(body):
        return body.get("data") if body["type"] in _MESSAGE_KINDS else None
    return body


def _too_long(where: str, value: Any, limit: int, *, required: bool = False) -> list[str]:
    if value is None:
        return [f"{where}: missing"] if required else []
    if not isinstance(value, str):
        return [f"{where}: not a string ({type(value).__name__})"]
    if required and not value.strip():
        return [f"{where}: empty"]
    if len(value) > limit:
        return [f"{where}: {len(value)} characters, limit {limit}"]
    return []


def _objects(items: list[Any], where: str, problems: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each object of a payload list with its place (`where[n]`); anything else is noted in `problems`."""
    for number, item in enumerate(items):
        spot = f"{where}[{number}]"
        if isinstance(item, dict):
            yield spot, item
        else:
            problems.append(f"{spot}: not an object")


def _raw_mentions(where: str, value: Any) -> list[str]:
    if isinstance(value, str) and (mention := _RAW_MENTION.search(value)):
        return [f"{where}: raw mention {mention.group(0)!r} in text"]
    return []


def _check_embed(index: int, embed: Any) -> tuple[list[str], int]:
    where = f"embeds[{index}]"
    if not isinstance(embed, dict):
        return [f"{where}: not an object"], 0
    problems: list[str] = []
    texts: list[tuple[str, Any]] = [(f"{where}.{key}", embed.get(key)) for key in ("title", "description")]
    problems += _too_long(f"{where}.title", embed.get("title"), MAX_TITLE)
    problems += _too_long(f"{where}.description", embed.get("description"), MAX_DESCRIPTION)
    url = embed.get("url")
    if url is not None:
        if not isinstance(url, str) or not _HTTP_URL.match(url) or re.search(r"\s", url):
            problems.append(f"{where}.url: not an http(s) URL: {str(url)[:80]!r}")
        elif len(url) > MAX_EMBED_URL:
            problems.append(f"{where}.url: {len(url)} characters, limit {MAX_EMBED_URL}")
    colour = embed.get("color")
    if colour is not None and (not isinstance(colour, int) or isinstance(colour, bool) or not 0 <= colour <= 0xFFFFFF):
        problems.append(f"{where}.color: not an integer 0..0xFFFFFF")
    fields = embed.get("fields", [])
    if not isinstance(fields, list):
        problems.append(f"{where}.fields: not a list")
        fields = []
    if len(fields) > MAX_FIELDS:
        problems.append(f"{where}.fields: {len(fields)} fields, limit {MAX_FIELDS}")
    for spot, field in _objects(fields, f"{where}.fields", problems):
        problems += _too_long(f"{spot}.name", field.get("name"), MAX_FIELD_NAME, required=True)
        problems += _too_long(f"{spot}.value", field.get("value"), MAX_FIELD_VALUE, required=True)
        if "inline" in field and not isinstance(field["inline"], bool):
            problems.append(f"{spot}.inline: not a boolean")
        texts += [(f"{spot}.name", field.get("name")), (f"{spot}.value", field.get("value"))]
    for part, key, limit in (("footer", "text", MAX_FOOTER), ("author", "name", MAX_AUTHOR_NAME)):
        if part in embed:
            holder = embed[part]
            if not isinstance(holder, dict):
                problems.append(f"{where}.{part}: not an object")
                continue
            problems += _too_long(f"{where}.{part}.{key}", holder.get(key), limit, required=True)
            texts.append((f"{where}.{part}.{key}", holder.get(key)))
    for spot, text in texts:
        problems += _raw_mentions(spot, text)
    size = sum(len(text) for _, text in texts if isinstance(text, str))
    visible = ("title", "description", "fields", "footer", "author", "image", "thumbnail", "video")
    if not any(embed.get(key) for key in visible):
        problems.append(f"{where}: empty embed")
    return problems, size


def _check_allowed_mentions(allowed: Any) -> list[str]:
    if allowed is None:
        return ["allowed_mentions: missing (must be {\"parse\": []})"]
    if not isinstance(allowed, dict):
        return ["allowed_mentions: not an object"]
    problems = []
    if allowed.get("parse") != []:
        problems.append(f"allowed_mentions.parse: {allowed.get('parse')!r}, must be []")
    for key in ("users", "roles"):
        if allowed.get(key):
            problems.append(f"allowed_mentions.{key}: lists ids {allowed[key]!r}; nothing may be pinged")
    if allowed.get("replied_user"):
        problems.append("allowed_mentions.replied_user: true; nothing may be pinged")
    return problems


def _check_components(rows: Any) -> list[str]:
    if not isinstance(rows, list):
        return ["components: not a list"]
    problems = []
    if len(rows) > MAX_COMPONENT_ROWS:
        problems.append(f"components: {len(rows)} rows, limit {MAX_COMPONENT_ROWS}")
    for number, row in enumerate(rows):
        children = row.get("components", []) if isinstance(row, dict) else None
        if not isinstance(children, list):
            problems.append(f"components[{number}]: not an action row")
            continue
        if not 1 <= len(children) <= MAX_ROW_COMPONENTS:
            problems.append(f"components[{number}]: {len(children)} components, must be 1..{MAX_ROW_COMPONENTS}")
        for spot, child in _objects(children, f"components[{number}].components", problems):
            problems += _too_long(f"{spot}.label", child.get("label"), MAX_BUTTON_LABEL)
            problems += _too_long(f"{spot}.custom_id", child.get("custom_id"), MAX_CUSTOM_ID)
    return problems


def _check_message(payload: Any, *, partial: bool = False) -> list[str]:
    if not isinstance(payload, dict):
        return ["message payload is not a JSON object"]
    problems: list[str] = []
    content = payload.get("content")
    problems += _too_long("content", content, MAX_CONTENT)
    problems += _raw_mentions("content", content)
    embeds = payload.get("embeds") or []
    if not isinstance(embeds, list):
        problems.append("embeds: not a list")
        embeds = []
    if "embed" in payload:
        problems.append("embed: the singular form is deprecated; use embeds")
    if len(embeds) > MAX_EMBEDS:
        problems.append(f"embeds: {len(embeds)} embeds, limit {MAX_EMBEDS}")
    total = 0
    for index, embed in enumerate(embeds):
        embed_problems, size = _check_embed(index, embed)
        problems += embed_problems
        total += size
    if total > MAX_EMBED_TOTAL:
        problems.append(f"embeds: {total} characters over all embeds, limit {MAX_EMBED_TOTAL}")
    problems += _check_allowed_mentions(payload.get("allowed_mentions"))
    nonce = payload.get("nonce")
    if nonce is not None and not (isinstance(nonce, int) and not isinstance(nonce, bool)):
        problems += _too_long("nonce", nonce, MAX_NONCE)
    if "components" in payload and payload["components"] is not None:
        problems += _check_components(payload["components"])
    problems += _too_long("username", payload.get("username"), MAX_WEBHOOK_USERNAME)
    if not partial and not any(payload.get(key) for key in _CONTENT_KEYS):
        problems.append("message is empty: no content, embeds, components or attachments")
    return problems


def check_message_limits(body: Any, *, partial: bool = False) -> list[str]:
    """Every Discord limit `body` breaks, as readable strings; [] when it may be sent.

    Accepts a message payload, an interaction callback (`{"type": 4|7, "data":
    {...}}`; callbacks without a message give []) or a forum/media thread body
    (`{"name": ..., "message": {...}}`, whose name is checked too). Strict on
    purpose: `allowed_mentions` must be present with `parse: []` and no ids,
    and no text may contain a raw `@everyone`, `@here` or `<@`. `partial=True`
    (a PATCH edit; implied for UPDATE_MESSAGE callbacks) only skips the check
    that the message is not empty.
    """
    if not isinstance(body, dict):
        return ["payload is not a JSON object"]
    if _is_thread_body(body):
        problems = _too_long("name", body.get("name"), MAX_THREAD_NAME, required=True)
        return problems + (_check_message(body["message"]) if "message" in body else [])
    if _is_interaction_callback(body):
        if body["type"] not in _MESSAGE_KINDS:
            return []
        if not isinstance(body.get("data"), dict):
            return [f"interaction callback type {body['type']}: data is missing or not an object"]
        return _check_message(body["data"], partial=partial or body["type"] == 7)
    return _check_message(body, partial=partial)
