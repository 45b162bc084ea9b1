"""Block Kit rendering of replies: pure functions from a `Reply` to Slack messages.

Why this exists: the core speaks neutral `Reply` data (DESIGN.md, "The neutral
model"); Slack needs blocks inside hard limits, and paper text is untrusted —
a title containing `<!channel>` must not ping a workspace. Keeping all of that
in pure functions lets golden files pin the exact payloads.

API
---
- `render_messages(reply, *, share=None) -> list[dict]`: one or more messages,
  each `{"text": fallback, "blocks": [...]}`, ready as kwargs for
  `chat_postMessage` / `respond` (the adapter adds channel, response_type…).
  Each message is complete on its own; the first carries the header, later
  ones start with a context line "<header> (continued, 2/3)".
- `ShareButton(value, action_id="paperbot_share")`: when given, the last
  message ends with an actions block holding a "Share in channel" button.
  `value` (at most 2000 characters, checked on construction) is what the
  adapter needs to re-create the reply, e.g. the command text.
- A list whose cards take votes (`PaperListReply.votable`) gets an actions
  block under each card: 👍/👎/🔖 buttons whose `action_id` is
  `paperbot_vote:<action>:<arxiv id>` (`vote_action_id`; unique in a message,
  and all a click needs, so it works after a restart). `undo_block(action,
  arxiv_id)` is the Undo under a click's acknowledgement
  (`paperbot_unvote:<action>:<arxiv id>`).
- `digest_metadata(subscription_id, period) -> dict`: `metadata` for
  `chat.postMessage` of a digest (event type `paperbot_digest`).
- `escape_mrkdwn_text(text)`, `safe_url(url)`: the two gates all untrusted
  text and every link pass through.
- `check_message_limits(message) -> list[str]`: re-exported from `limits`.

Rules
-----
- Limits per message: <= 50 blocks, section text <= 3000, header <= 150,
  <= 12,000 characters of block text, fallback `text` <= 3000. A reply that
  does not fit is split into several messages between blocks; long texts
  (abstract, notes, notice lines) are split into several sections with
  `bot.text.split_text`, at paragraph/sentence/word boundaries, never
  inside a word, an `&amp;` entity or a `<url|label>` link.
- Escaping: `&`, `<`, `>` become entities in every piece of paper or user
  text, so nothing from a paper can form `<!here>`, `<@U…>`, `<#C…>` or a
  link; mrkdwn objects are sent `verbatim` so Slack does not auto-parse
  names either; `@channel`/`@here`/`@everyone` get an invisible word joiner
  after the `@` in case a caller ever sets `link_names`. `*`, `_`, `~`, `` ` ``
  are left alone: they can only change emphasis, and escaping them would make
  titles unreadable.
- A key figure (`card.figure`) is an image block (caption as its title and
  alt text): under the head of `/paper show`, and under each card of a list
  that carries one (a digest with `figures = true`).
- Links: only http(s) URLs become links; `<`, `>`, `|`, spaces and non-ASCII
  are percent-encoded and `&` is escaped, so a URL cannot break the markup.
- What may be dropped (documented lossy cases, all hostile or abnormal input):
  a URL longer than `MAX_LINK_URL` (1000) is not linked at all (the label
  stays) — it is never cut; a list card's TLDR is shortened at a word
  boundary with "…" when the card would exceed one section (the full text is
  in `/paper show`); a card title is shortened likewise only when it alone
  would not leave room for the rest of the card (~2,500+ characters); a header
  is shortened to 150 characters, and the full text then follows in a
  section; an author list beyond ~1,500 characters ends in "et al." (300 in a
  card, which shows the first three authors anyway); a notes heading is
  shortened to 200 characters, a topics line to 400 and a card's date to 60;
  a single token longer than a whole section (a 5,000-character "word") is
  cut between two sections.
- A ranked card's why line (`card.why`) ends its section, in italics.
- Fallback `text`: the plain text (`bot.plaintext` style) of that message's
  own content, escaped the same way, shortened to 3000 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import singledispatch
from urllib.parse import quote

from adapters.slack.limits import (
    MAX_ACTION_ID,
    MAX_BLOCKS,
    MAX_BUTTON_TEXT,
    MAX_BUTTON_VALUE,
    MAX_FALLBACK_TEXT,
    MAX_HEADER_TEXT,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_TEXT,
    block_texts,
    check_message_limits,
)
from bot.models import ErrorReply, Figure, NoticeReply, PaperCard, PaperDetailReply, PaperListReply, Reply
from bot.plaintext import authors_line, render_card, why_line
from bot.text import shorten, split_text
from bot.votes import VoteAction

__all__ = [
    "DIGEST_EVENT_TYPE",
    "MAX_LINK_URL",
    "SHARE_ACTION_ID",
    "ShareButton",
    "UNDO_ACTION_PREFIX",
    "VOTE_ACTION_PREFIX",
    "check_message_limits",
    "digest_metadata",
    "escape_mrkdwn_text",
    "render_messages",
    "safe_url",
    "undo_block",
    "vote_action_id",
]

SHARE_ACTION_ID = "paperbot_share"
VOTE_ACTION_PREFIX, UNDO_ACTION_PREFIX = "paperbot_vote", "paperbot_unvote"
DIGEST_EVENT_TYPE = "paperbot_digest"
# Real paper and code links are under 200 characters; anything this long is
# junk or an attack, and cutting it would make a wrong link.
MAX_LINK_URL = 1000
MAX_HEADING = 200  # a notes heading is a label, not content
MAX_IMAGE_URL = 3000  # Slack: an image block's image_url
MAX_IMAGE_TEXT = 300  # a caption under an image; Slack allows 2000, a chat image needs a line or two
MAX_DATE = 60  # "2025-06-04"; anything longer is junk that must not crowd out the title
MAX_AUTHORS_TEXT = 1500  # papers with 3,000 authors exist
MAX_CARD_AUTHORS = 300
MIN_TLDR_ROOM = 200  # a card title never squeezes its TLDR below this
MAX_WHY = 300  # a ranked card's why line is a short title and two terms; more is junk
# Room kept free in every message for the "(continued, k/n)" line and the button.
CONTINUATION_RESERVE = MAX_HEADER_TEXT + 50
SHARE_RESERVE = 50
NOTHING_TO_SHOW = "(nothing to show)"  # Slack refuses a message without content

_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_LINK_START = re.compile(r"(?i)^https?://[^\s/?#<>|\\]")
_URL_SAFE = "/:?#[]@!$&'()*+,;=%~-._"


@dataclass(frozen=True)
class ShareButton:
    """The "Share in channel" button of an answer only the requester can see."""

    value: str
    action_id: str = SHARE_ACTION_ID
    label: str = "Share in channel"

    def __post_init__(self) -> None:
        # Refused here, in the adapter's hands, rather than as a Slack API error later.
        if not self.value or len(self.value) > MAX_BUTTON_VALUE:
            raise ValueError(f"share value must be 1..{MAX_BUTTON_VALUE} characters")
        if not 0 < len(self.action_id) <= MAX_ACTION_ID or not 0 < len(self.label) <= MAX_BUTTON_TEXT:
            raise ValueError("share action_id must be 1..255 characters and label 1..75")


def digest_metadata(subscription_id: str | int, period: str) -> dict:
    """Message metadata marking a post as one subscription's digest for one period."""
    return {
        "event_type": DIGEST_EVENT_TYPE,
        "event_payload": {"subscription": subscription_id, "period": period},
    }


# --- the two gates for untrusted text -----------------------------------------------------


def escape_mrkdwn_text(text: str) -> str:
    """Make paper/user text inert in Slack: no mention, link or markup can form from it."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060", text)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def safe_url(url: str | None) -> str | None:
    """`url` ready to sit inside `<url|label>`, or None if it must not be a link."""
    url = (url or "").strip()
    if not _LINK_START.match(url):
        return None
    encoded = quote(url, safe=_URL_SAFE).replace("&", "&amp;")
    return encoded if len(encoded) <= MAX_LINK_URL else None


def _link(url: str | None, label: str) -> str:
    """A link with an already escaped `label`; just the label when the URL is unsafe."""
    target = safe_url(url)
    return f"<{target}|{label}>" if target else label


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


# --- blocks ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """One block plus the plain text it contributes to its message's fallback."""

    block: dict
    text: str = ""
    keep_with_next: bool = False


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str, fallback: str = "") -> _Unit:
    return _Unit({"type": "section", "text": _mrkdwn(text)}, fallback)


def _context(text: str, fallback: str = "") -> _Unit:
    return _Unit({"type": "context", "elements": [_mrkdwn(text)]}, fallback)


def _header_units(text: str) -> list[_Unit]:
    """A header block; if it had to be shortened, the whole text follows so nothing is lost."""
    text = _one_line(text)
    if not text:
        return []
    escaped = escape_mrkdwn_text(text)
    short = shorten(escaped, MAX_HEADER_TEXT)
    header = _Unit({"type": "header", "text": {"type": "plain_text", "text": short, "emoji": True}}, text)
    if short == escaped:
        return [header]
    pieces = split_text(escaped, MAX_SECTION_TEXT - 2)
    return [header] + [_section(f"*{piece}*") for piece in pieces]


def _text_sections(body: str, heading: str = "", prefix: str = "") -> list[_Unit]:
    """Sections for one long text: `*heading*` on top, the body split to fit."""
    heading_text = shorten(escape_mrkdwn_text(_one_line(heading)), MAX_HEADING)
    lead = f"{prefix}*{heading_text}*\n" if heading_text else prefix
    pieces = split_text(escape_mrkdwn_text(body.replace("\r\n", "\n")), MAX_SECTION_TEXT - len(lead))
    if not pieces:
        return [_section(lead.strip(), _one_line(heading))] if heading_text else []
    units = [_section(lead + pieces[0], _join_lines(heading, _unescape(pieces[0])))]
    units += [_section(piece, _unescape(piece)) for piece in pieces[1:]]
    return units


def _context_units(lines: tuple[str, ...] | list[str]) -> list[_Unit]:
    units = []
    for line in lines:
        for piece in split_text(escape_mrkdwn_text(line), MAX_SECTION_TEXT):
            units.append(_context(piece, _unescape(piece)))
    return units


def _join_lines(*lines: str) -> str:
    return "\n".join(line for line in lines if line)


# --- one reply type each ---------------------------------------------------------------


@singledispatch
def _units(reply: object) -> list[_Unit]:
    raise TypeError(f"not a reply: {type(reply).__name__}")


@_units.register
def _(reply: PaperListReply) -> list[_Unit]:
    units = _header_units(reply.header)
    for number, card in enumerate(reply.cards, 1):
        image = _figure_units(card.figure)
        card_unit = _card_unit(card, number)
        votes = [_vote_unit(card.arxiv_id)] if reply.votable else []
        # A card's figure and buttons go with it into the same message.
        image = [_Unit(unit.block, unit.text, keep_with_next=bool(votes)) for unit in image]
        units += [_Unit(card_unit.block, card_unit.text, keep_with_next=bool(image or votes)), *image, *votes]
    if not reply.cards:
        units += _text_sections(reply.empty_text)
    return units + _context_units(reply.footer)


def _figure_units(figure: Figure | None) -> list[_Unit]:
    """An image block for a key figure, its caption as title and alt text; none when the URL cannot be one."""
    url = (figure.url or "").strip() if figure is not None else ""
    if figure is None or not _LINK_START.match(url) or len(url) > MAX_IMAGE_URL:
        return []
    caption = shorten(_one_line(figure.caption), MAX_IMAGE_TEXT) or "Key figure"
    block = {
        "type": "image", "image_url": url, "alt_text": caption,
        "title": {"type": "plain_text", "text": caption, "emoji": False},
    }  # fmt: skip
    return [_Unit(block, f"Key figure: {caption}")]


def _card_unit(card: PaperCard, number: int) -> _Unit:
    """One paper as one section: linked title, `date · authors · code`, TLDR."""
    authors = shorten(escape_mrkdwn_text(_one_line(authors_line(card.authors))), MAX_CARD_AUTHORS)
    meta = [shorten(escape_mrkdwn_text(_one_line(card.published)), MAX_DATE), authors]
    if safe_url(card.code_url):
        meta.append(_link(card.code_url, "code"))
    meta_line = " · ".join(part for part in meta if part)
    url = safe_url(card.url) or ""
    title = escape_mrkdwn_text(_one_line(card.title)) or escape_mrkdwn_text(card.arxiv_id) or "untitled"
    title_room = MAX_SECTION_TEXT - len(meta_line) - len(url) - MIN_TLDR_ROOM - 10
    head = f"*{_link(card.url, shorten(title, title_room))}*"
    if meta_line:
        head += "\n" + meta_line
    why = shorten(escape_mrkdwn_text(_one_line(why_line(card))), MAX_WHY)
    tail = f"\n_{why}_" if why else ""
    tldr = escape_mrkdwn_text(_one_line(card.tldr))
    text = head + "\n" + shorten(tldr, MAX_SECTION_TEXT - len(head) - len(tail) - 1) if tldr else head
    return _section(text + tail, render_card(card, number))


@_units.register
def _(reply: PaperDetailReply) -> list[_Unit]:
    card = reply.card
    units = _header_units(card.title or card.arxiv_id)
    units += _detail_head(card)
    units += _figure_units(card.figure)
    if card.tldr:
        units += _text_sections(card.tldr, "TLDR")
    if reply.abstract:
        units += _text_sections(reply.abstract, "Abstract")
    if reply.notes_label:
        # The label says whose notes these are and how trustworthy: keep it with them.
        units += [
            _Unit(u.block, u.text, keep_with_next=bool(reply.sections))
            for u in _context_units([reply.notes_label])
        ]
    for section in reply.sections:
        units += _text_sections(section.body, section.heading)
    return units + _context_units(reply.footer)


def _detail_head(card: PaperCard) -> list[_Unit]:
    """Links, date, authors and topics: split only if hostile lengths force it."""
    version = f"v{card.version}" if card.version else ""
    links = [f"*{_link(card.url, escape_mrkdwn_text(f'arXiv:{card.arxiv_id}{version}'))}*"]
    if safe_url(card.pdf_url):
        links.append(_link(card.pdf_url, "PDF"))
    if safe_url(card.code_url):
        links.append(_link(card.code_url, "Code"))
    lines = [" · ".join(links), escape_mrkdwn_text(_one_line(card.published))]
    if card.authors:
        lines.append(escape_mrkdwn_text(_authors_within(card.authors, MAX_AUTHORS_TEXT)))
    if card.topics:
        lines.append(shorten(escape_mrkdwn_text("Topics: " + ", ".join(card.topics)), MAX_HEADING * 2))
    pieces = split_text("\n".join(line for line in lines if line), MAX_SECTION_TEXT)
    # bot.plaintext's detail head, minus the title (the header unit carries it)
    meta = [f"arXiv {card.arxiv_id}v{card.version}", card.published, authors_line(card.authors)]
    link_texts = [card.url, f"PDF: {card.pdf_url}" if card.pdf_url else "", f"Code: {card.code_url}" if card.code_url else ""]
    fallback = _join_lines(" · ".join(p for p in meta if p), " · ".join(p for p in link_texts if p))
    return [_section(piece, fallback if n == 0 else "") for n, piece in enumerate(pieces)]


def _authors_within(authors: tuple[str, ...], budget: int) -> str:
    """All authors if they fit in `budget` characters, else as many as fit and "et al."."""
    names = [_one_line(a) for a in authors]
    full = ", ".join(names)
    if len(full) <= budget:
        return full
    shown, used = 0, 0
    while shown < len(names) and used + len(names[shown]) + 2 <= budget - 40:
        used += len(names[shown]) + 2
        shown += 1
    if shown == 0:
        return shorten(names[0], budget - 40) + f" et al. ({len(names)} authors)"
    return authors_line(tuple(names), limit=shown) + f" ({len(names)} authors)"


@_units.register
def _(reply: NoticeReply) -> list[_Unit]:
    units = _header_units(reply.title or "")
    return units + _text_sections("\n".join(reply.lines))


@_units.register
def _(reply: ErrorReply) -> list[_Unit]:
    units = _text_sections(reply.message.strip() or "Something went wrong.", prefix=":warning: ")
    if reply.hint:
        units += _context_units([reply.hint])
    return units


# --- packing units into messages -------------------------------------------------------


def _unit_chars(unit: _Unit) -> int:
    return sum(len(text) for text in block_texts([unit.block]))


def _pack(units: list[_Unit], max_blocks: int, max_chars: int) -> list[list[_Unit]]:
    """Fill messages in order; a unit marked keep_with_next moves on with its successor."""
    messages: list[list[_Unit]] = []
    current: list[_Unit] = []
    blocks = chars = 0
    i = 0
    while i < len(units):
        j = i
        while units[j].keep_with_next and j + 1 < len(units):
            j += 1
        group = units[i : j + 1]
        group_chars = sum(_unit_chars(u) for u in group)
        if current and (blocks + len(group) > max_blocks or chars + group_chars > max_chars):
            messages.append(current)
            current, blocks, chars = [], 0, 0
        current += group
        blocks += len(group)
        chars += group_chars
        i = j + 1
    if current:
        messages.append(current)
    return messages


def _fallback(texts: list[str]) -> str:
    text = escape_mrkdwn_text("\n\n".join(t for t in texts if t.strip())).strip()
    return shorten(text, MAX_FALLBACK_TEXT) or "paperbot"


def vote_action_id(action: VoteAction, arxiv_id: str, *, undo: bool = False) -> str:
    return f"{UNDO_ACTION_PREFIX if undo else VOTE_ACTION_PREFIX}:{action.value}:{arxiv_id}"


def _button(label: str, action_id: str, value: str) -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": value,
    }


def _vote_unit(arxiv_id: str) -> _Unit:
    buttons = [_button(action.label, vote_action_id(action, arxiv_id), arxiv_id) for action in VoteAction]
    return _Unit({"type": "actions", "block_id": f"{VOTE_ACTION_PREFIX}:{arxiv_id}", "elements": buttons})


def undo_block(action: VoteAction, arxiv_id: str) -> dict:
    """The Undo button under a click's acknowledgement."""
    action_id = vote_action_id(action, arxiv_id, undo=True)
    return {"type": "actions", "block_id": action_id, "elements": [_button("Undo", action_id, arxiv_id)]}


def _share_block(share: ShareButton) -> dict:
    return {"type": "actions", "block_id": share.action_id, "elements": [_button(share.label, share.action_id, share.value)]}


def _title_of(reply: Reply) -> str:
    if isinstance(reply, PaperListReply):
        return reply.header
    if isinstance(reply, PaperDetailReply):
        return reply.card.title or reply.card.arxiv_id
    if isinstance(reply, NoticeReply):
        return reply.title or ""
    return ""


def render_messages(reply: Reply, *, share: ShareButton | None = None) -> list[dict]:
    """Slack messages for `reply`: as many as its limits need, each complete on its own."""
    reserve_blocks = 1 + (1 if share else 0)
    reserve_chars = CONTINUATION_RESERVE + (SHARE_RESERVE if share else 0)
    units = _units(reply) or [_section(NOTHING_TO_SHOW, NOTHING_TO_SHOW)]
    groups = _pack(units, MAX_BLOCKS - reserve_blocks, MAX_MESSAGE_CHARS - reserve_chars)
    title = _unescape(shorten(escape_mrkdwn_text(_one_line(_title_of(reply))), MAX_HEADER_TEXT))
    messages = []
    for k, group in enumerate(groups, 1):
        blocks = [unit.block for unit in group]
        texts = [unit.text for unit in group]
        if k > 1:
            label = f"{title} (continued, {k}/{len(groups)})".strip()
            blocks.insert(0, _context(escape_mrkdwn_text(label)).block)
            texts.insert(0, label)
        if share and k == len(groups):
            blocks.append(_share_block(share))
        messages.append({"text": _fallback(texts), "blocks": blocks})
    return messages
