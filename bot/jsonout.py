"""Machine-readable output for `paperbot ... --json`.

The keys are a promise to scripts: `arxiv_id`, `version`, `title`, `authors`,
`published`, `url`, `pdf_url`, `code_url`, `topics`, `tldr` for every paper,
plus `abstract`, `notes`, `notes_lang` and `text_quality` for `show`, `notes_basis`
(what machine notes were written from: `full_text` or `abstract`) and `figure`
(`{url, caption}` of the key figure, or null), and `score` and `why` for
`similar` and `recommend`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.models import NOTE_FIELDS, Figure, Paper, TopicStats
from bot.presenter import shown_notes
from bot.summarize import tldr

if TYPE_CHECKING:
    from bot.rank import Why


def paper_json(paper: Paper, lang: str = "en") -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors),
        "published": paper.published,
        "url": paper.url,
        "pdf_url": paper.pdf_url,
        "code_url": paper.code_url,
        "topics": list(paper.topics),
        "tldr": tldr(paper, lang),
        "categories": list(paper.categories),
        "added_at": paper.added_at,
    }


def ranked_json(paper: Paper, score: float, why: Why | None, lang: str = "en") -> dict[str, Any]:
    """A ranked paper (`similar`, `recommend`): the paper's keys, its `score` in [0, 1] and its `why`
    (`like`, `like_title`, `terms`, `text`; null when it shares no term with the library)."""
    data = paper_json(paper, lang)
    data["score"] = round(score, 4)
    data["why"] = (
        None if why is None else {"like": why.like_id, "like_title": why.like_title, "terms": list(why.terms), "text": why.text}
    )
    return data


def paper_detail_json(paper: Paper, lang: str = "en", figure: Figure | None = None) -> dict[str, Any]:
    notes = shown_notes(paper, lang)
    detail = paper_json(paper, lang)
    detail.update(
        abstract=paper.abstract,
        notes={name: getattr(notes, name) if notes else None for name in NOTE_FIELDS},
        notes_lang=notes.lang if notes else None,
        notes_source=notes.source if notes else None,
        notes_origin=notes.origin if notes else None,
        notes_created_at=notes.created_at if notes else None,
        notes_quality=notes.text_quality.value if notes else None,
        notes_basis=notes.basis if notes else None,
        text_quality=paper.text_quality.value,
        comment=paper.comment,
        journal_ref=paper.journal_ref,
        doi=paper.doi,
        updated=paper.updated,
        figure={"url": figure.url, "caption": figure.caption} if figure else None,
    )
    return detail


def topics_json(stats: list[TopicStats]) -> list[dict[str, Any]]:
    return [
        {
            "name": item.topic.name,
            "title": item.topic.title,
            "query": item.topic.query,
            "categories": list(item.topic.categories),
            "paper_count": item.paper_count,
            "newest_published": item.newest_published,
        }
        for item in stats
    ]
