"""A list answer cut into pages: the page size and the page wording are the core's, the fit is the platform's.

Why this exists: `count` means the number of results on every platform; a
platform that can turn pages (Discord, with Previous/Next) shows the same
answer a page at a time, and Slack and the console show it whole. The page
header says `page i/n` and the footer `Papers a–b of n`. A platform whose
messages have size limits passes `fits`, and a page that would not fit is
cut earlier, so turning a page is always one message edit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bot.models import PaperCard, PaperListReply

Fits = Callable[[PaperListReply], bool]


def fits_anywhere(page: PaperListReply) -> bool:
    return True


def paginate(reply: PaperListReply, per_page: int, fits: Fits = fits_anywhere) -> list[PaperListReply]:
    """Pages of at most `per_page` cards that each satisfy `fits`; a short list that fits is one page, unchanged.

    (A single card that does not fit on its own is still a page: `fits` can
    only make pages shorter.)
    """
    per_page = max(1, per_page)
    if len(reply.cards) <= per_page and fits(reply):
        return [reply]
    total = len(reply.cards)

    def page(
        cards: tuple[PaperCard, ...], number: int | str, pages: int | str, first: int | str, last: int | str
    ) -> PaperListReply:
        return dataclasses.replace(
            reply,
            header=f"{reply.header} · page {number}/{pages}",
            cards=cards,
            footer=reply.footer + (f"Papers {first}–{last} of {total}",),
        )

    # Fit with the longest labels any page can get, so the real (shorter or equal) ones fit too.
    widest = str(total)
    chunks: list[tuple[PaperCard, ...]] = []
    rest = list(reply.cards)
    while rest:
        size = min(per_page, len(rest))
        while size > 1 and not fits(page(tuple(rest[:size]), widest, widest, widest, widest)):
            size -= 1
        chunks.append(tuple(rest[:size]))
        rest = rest[size:]
    pages = []
    first = 1
    for number, cards in enumerate(chunks, 1):
        last = first + len(cards) - 1
        pages.append(page(cards, number, len(chunks), first, last))
        first = last + 1
    return pages
