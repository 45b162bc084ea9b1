"""Plain-text rendering of replies.

This is the fallback every reply carries (`reply.text`), what the console
adapter prints, and what Slack shows in notifications. Pure functions only.

`bot.models` gives each reply its `text` from here, so this module needs the
reply types for type checking only: at run time it imports nothing of ours.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.models import ErrorReply, NoticeReply, PaperCard, PaperDetailReply, PaperListReply

MAX_AUTHORS_SHOWN = 3


def authors_line(authors: tuple[str, ...], limit: int = MAX_AUTHORS_SHOWN) -> str:
    """First authors, then "et al." so long author lists stay one line."""
    if not authors:
        return ""
    shown = ", ".join(authors[:limit])
    return f"{shown} et al." if len(authors) > limit else shown


def card_meta_line(card: PaperCard) -> str:
    """`2505.20665 · 2025-05 · A. Author et al. · code: URL` with empty parts left out."""
    parts = [card.arxiv_id, card.published, authors_line(card.authors)]
    if card.code_url:
        parts.append(f"code: {card.code_url}")
    return " · ".join(part for part in parts if part)


def render_card(card: PaperCard, number: int | None = None) -> str:
    prefix = f"{number}. " if number is not None else ""
    indent = " " * len(prefix)
    lines = [f"{prefix}{card.title}", f"{indent}{card_meta_line(card)}", f"{indent}{card.url}"]
    if card.tldr:
        lines.append(f"{indent}TLDR: {card.tldr}")
    if card.figure is not None:
        lines.append(f"{indent}Figure: {card.figure.url}")
    if card.why:
        lines.append(f"{indent}{why_line(card)}")
    return "\n".join(lines)


def why_line(card: PaperCard) -> str:
    """A ranked card's reason, `Why: like DriveRX · reward model, driving` ("" when not ranked)."""
    return f"Why: {card.why}" if card.why else ""


def list_text(reply: PaperListReply) -> str:
    blocks = [reply.header]
    if reply.cards:
        blocks.extend(render_card(card, number) for number, card in enumerate(reply.cards, 1))
    else:
        blocks.append(reply.empty_text)
    blocks.extend(reply.footer)
    return "\n\n".join(blocks)


def detail_text(reply: PaperDetailReply) -> str:
    card = reply.card
    links = [card.url]
    if card.pdf_url:
        links.append(f"PDF: {card.pdf_url}")
    if card.code_url:
        links.append(f"Code: {card.code_url}")
    head = [card.title, f"arXiv {card.arxiv_id}v{card.version} · {card.published}"]
    if card.authors:
        head.append(", ".join(card.authors))
    head.append(" · ".join(links))
    if card.topics:
        head.append("Topics: " + ", ".join(card.topics))
    blocks = ["\n".join(head)]
    if card.figure is not None:
        blocks.append(f"Key figure: {card.figure.caption}\n{card.figure.url}".replace(": \n", "\n"))
    if card.tldr:
        blocks.append(f"TLDR: {card.tldr}")
    if reply.abstract:
        blocks.append(f"Abstract\n{reply.abstract}")
    if reply.notes_label:
        blocks.append(reply.notes_label)
    blocks.extend(f"{section.heading}\n{section.body}" for section in reply.sections)
    blocks.extend(reply.footer)
    return "\n\n".join(blocks)


def notice_text(reply: NoticeReply) -> str:
    lines = list(reply.lines)
    if reply.title:
        lines.insert(0, reply.title)
    return "\n".join(lines)


def error_text(reply: ErrorReply) -> str:
    return f"{reply.message}\n{reply.hint}" if reply.hint else reply.message
