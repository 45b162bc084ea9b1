"""A paper's extracted full text as sections, and its stored form.

Why this module exists: the HTML and PDF extractors, the store and the
prompt builders all speak this one shape. It is stored as zlib-compressed
JSON (a paper's text is 30-150 KB and compresses about 3:1) with a format
number, so a later extractor can change the shape without misreading old rows.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

from bot.errors import UnreadableText
from bot.models import Figure

FORMAT = 1
SOURCES = ("html", "pdf")


@dataclass(frozen=True)
class Section:
    """One heading and the text under it (not its subsections, which are sections of their own)."""

    heading: str
    body: str
    level: int = 1


@dataclass(frozen=True)
class FullText:
    """What was extracted from one version of a paper, and from where (`html` or `pdf`)."""

    arxiv_id: str
    version: int
    source: str
    sections: tuple[Section, ...]
    figure: Figure | None = None
    fetched_at: str = ""

    @property
    def chars(self) -> int:
        return sum(len(s.heading) + len(s.body) for s in self.sections)

    def plain(self) -> str:
        """Every section as `heading` then body, blank lines between: what a question is checked against."""
        return "\n\n".join(f"{s.heading}\n{s.body}".strip() for s in self.sections)


def compress_sections(sections: tuple[Section, ...] | list[Section]) -> bytes:
    data = {"format": FORMAT, "sections": [[s.level, s.heading, s.body] for s in sections]}
    return zlib.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)


def decompress_sections(blob: bytes) -> tuple[Section, ...]:
    try:
        data = json.loads(zlib.decompress(blob).decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableText(f"stored full text is damaged ({error})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("sections"), list):
        raise UnreadableText(f"stored full text has an unknown format ({data.get('format') if isinstance(data, dict) else '?'})")
    return tuple(Section(str(heading), str(body), int(level)) for level, heading, body in data["sections"])
