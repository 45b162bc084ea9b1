"""Turn domain objects (papers, topics) into neutral `Reply` data.

Commands and digests both present papers; keeping the wording here means a
paper looks the same in `/paper latest`, `/paper search` and a weekly post.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Sequence

from bot.models import (
    DetailSection,
    Figure,
    Notes,
    NoticeReply,
    Paper,
    PaperCard,
    PaperDetailReply,
    PaperListReply,
    TextQuality,
    TopicStats,
)
from bot.summarize import tldr

if TYPE_CHECKING:  # the ranker pulls in scikit-learn: only what ranks imports it
    from bot.rank import Ranked

NOTE_HEADINGS = {
    "headline": "🌟 Headline",
    "motivation": "📌 Motivation",
    "method": "🚀 Method",
    "results": "📈 Results",
    "takeaways": "💬 Takeaways",
}
LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}
BASIS_WORDS = {"full_text": " from the full text", "abstract": " from the abstract only"}


def paper_card(paper: Paper, lang: str = "en", figure: Figure | None = None, why: str = "") -> PaperCard:
    return PaperCard(
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        url=paper.url,
        published=paper.published,
        authors=paper.authors,
        code_url=paper.code_url,
        tldr=tldr(paper, lang),
        version=paper.version,
        pdf_url=paper.pdf_url,
        topics=paper.topics,
        figure=figure,
        why=why,
    )


def paper_list(
    header: str, papers: list[Paper], lang: str, *, empty_text: str, footer: tuple[str, ...] = (),
    figures: Mapping[str, Figure] | None = None, whys: Mapping[str, str] | None = None, votable: bool = False,
) -> PaperListReply:  # fmt: skip
    """A list of cards; `figures` (arxiv_id -> key figure) adds each paper's figure to its card, and
    `whys` (arxiv_id -> why line) a ranked list's reasons."""
    figures = figures or {}
    whys = whys or {}
    return PaperListReply(
        header=header,
        cards=tuple(paper_card(paper, lang, figures.get(paper.arxiv_id), whys.get(paper.arxiv_id, "")) for paper in papers),
        footer=footer,
        empty_text=empty_text,
        votable=votable,
    )


def ranked_list(
    header: str, ranked: Sequence[Ranked], lang: str, *, empty_text: str, footer: tuple[str, ...] = ()
) -> PaperListReply:
    """A list ranked by a library's model, best first, each card with its why line."""
    whys = {r.paper.arxiv_id: r.why.text for r in ranked if r.why is not None}
    return paper_list(header, [r.paper for r in ranked], lang, empty_text=empty_text, footer=footer, whys=whys, votable=True)


def shown_notes(paper: Paper, lang: str) -> Notes | None:
    """The notes `/paper show` displays: the preferred language first, else any."""
    preferred = paper.notes_in(lang)
    if preferred:
        return preferred
    for other in sorted({n.lang for n in paper.notes}):
        found = paper.notes_in(other)
        if found:
            return found
    return None


def notes_label(notes: Notes) -> str:
    language = LANGUAGE_NAMES.get(notes.lang, notes.lang)
    if notes.text_quality is TextQuality.DAMAGED:
        return (
            f"Notes ({language}) were damaged by an encoding error in {notes.origin or 'their source file'} "
            "and are not shown; read the abstract above instead."
        )
    label = f"Notes ({language})"
    if notes.machine_written:
        written = f", {notes.created_at[:10]}" if notes.created_at else ""
        read = BASIS_WORDS.get(notes.basis or "", "")
        label += f", machine-written by {notes.origin or 'a language model'}{read}{written}; check against the paper"
    elif notes.origin:
        label += f", from {notes.origin}"
    if notes.text_quality is TextQuality.REPAIRED:
        label += " (repaired from a mis-encoded file)"
    return label


def version_note(paper: Paper, asked_version: int | None) -> str | None:
    """`show 2505.20665v7` when the store holds v2: say which version is shown instead of pretending."""
    if asked_version is None or asked_version == paper.version:
        return None
    return f"v{asked_version} of {paper.arxiv_id} is not stored; this is v{paper.version}, the version the store has."


def paper_detail(
    paper: Paper, lang: str = "en", asked_version: int | None = None, figure: Figure | None = None
) -> PaperDetailReply:
    notes = shown_notes(paper, lang)
    sections: tuple[DetailSection, ...] = ()
    label = None
    if notes is not None:
        label = notes_label(notes)
        if notes.text_quality is not TextQuality.DAMAGED:
            sections = tuple(
                DetailSection(NOTE_HEADINGS[name], text)
                for name, text in notes.as_dict().items()
                if text
            )
    footer: tuple[str, ...] = ()
    if paper.text_quality is TextQuality.DAMAGED and (notes is None or notes.text_quality is not TextQuality.DAMAGED):
        footer = ("Some of this paper's text was damaged by an encoding error in its source file.",)
    note = version_note(paper, asked_version)
    if note:
        footer = (note, *footer)
    return PaperDetailReply(
        card=paper_card(paper, lang, figure),
        abstract=paper.abstract,
        sections=sections,
        notes_label=label,
        footer=footer,
    )


def topics_notice(stats: list[TopicStats]) -> NoticeReply:
    if not stats:
        return NoticeReply(("No topics yet. Import a paper list with `paperbot import FILE`.",), title="Topics")
    lines = []
    for item in stats:
        title = item.topic.title
        described = f" ({title})" if title and title != item.topic.name else ""
        count = f"{item.paper_count} paper{'s' if item.paper_count != 1 else ''}"
        newest = f", newest {item.newest_published}" if item.newest_published else ""
        lines.append(f"• {item.topic.name}{described}: {count}{newest}")
    return NoticeReply(tuple(lines), title=f"Topics ({len(stats)})")
