"""A paper's PDF to sections, for papers arXiv has no HTML rendering of.

Why this module exists: older papers and those LaTeXML cannot convert have
only a PDF. pypdf reads its text layer page by page; a PDF has no section
markup, so headings are recognised by their shape on a line of their own:
a number and a capitalised title (`3 Method`, `4.2 Ablations`, `IV. RESULTS`)
or one of the usual unnumbered ones (Abstract, Introduction, Conclusion, ...).
Everything from the references on is dropped (appendices come after them).
Words hyphenated across a line break are joined again.

A PDF cut short (no `%%EOF` at its end: a download that stopped, a broken
file) is refused rather than half-read.
"""

from __future__ import annotations

import io
import logging
import re

from bot.fulltext.document import Section
from bot.text import normalize

TAIL_BYTES = 2048  # `%%EOF` is within the last bytes of a whole PDF (incremental updates append after it)
MAX_HEADING_CHARS = 80

_NUMBERED = re.compile(r"^(?:\d{1,2}(?:\.\d{1,2}){0,2}\.?|[IVX]{1,5}\.)\s+([A-Z][^\n]{1,%d})$" % MAX_HEADING_CHARS)
_NAMED = re.compile(
    r"^(abstract|introduction|related work|background|method(?:s|ology)?|approach|experiments?|evaluation|results|"
    r"discussion|conclusions?|limitations|acknowledge?ments?|references|bibliography|appendix)\.?$",
    re.IGNORECASE,
)
_END = re.compile(r"^(?:\d{1,2}\.?\s+|[IVX]{1,5}\.\s+)?(references|bibliography|acknowledge?ments?)\.?$", re.IGNORECASE)
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-\n(?=[a-z])")


class UnreadablePdf(ValueError):
    """A PDF pypdf cannot read, one cut short, or one without a text layer."""


def check_complete(data: bytes) -> None:
    if not data.startswith(b"%PDF-"):
        raise UnreadablePdf("not a PDF (it does not start with %PDF-)")
    if b"%%EOF" not in data[-TAIL_BYTES:]:
        raise UnreadablePdf("the PDF is truncated (no %%EOF marker at its end)")


def extract_text(data: bytes) -> str:
    """The PDF's text layer, pages joined by blank lines."""
    check_complete(data)
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs every oddity of a real-world PDF as a warning; one line per paper is ours to write.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as error:
        # A damaged PDF fails inside pypdf in many ways; none of them is ours to crash on.
        raise UnreadablePdf(f"the PDF could not be read ({type(error).__name__}: {error})") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text.strip():
        raise UnreadablePdf("the PDF has no text layer (a scan?)")
    return text


def _is_heading(line: str) -> bool:
    if len(line) > MAX_HEADING_CHARS + 8 or line.endswith((".", ",", ";")) and not _NAMED.match(line):
        return False
    if _NAMED.match(line):
        return True
    match = _NUMBERED.match(line)
    # "3 Method" but not "2 We show that ..." (a numbered sentence) nor "2019 IEEE ..." (too many digits).
    return match is not None and len(match.group(1).split()) <= 10


def split_sections(text: str) -> tuple[Section, ...]:
    """Sections by the heading lines of a PDF's text; what precedes "Abstract" (title, authors) is dropped."""
    text = _HYPHEN_BREAK.sub("", text.replace("\r\n", "\n"))
    sections: list[tuple[str, list[str]]] = [("", [])]
    for raw in text.split("\n"):
        line = " ".join(raw.split())
        if not line:
            sections[-1][1].append("")
            continue
        if _is_heading(line):
            if _END.match(line):
                break
            sections.append((line, []))
        else:
            sections[-1][1].append(line)
    if any(heading.lower().startswith("abstract") for heading, _ in sections):
        sections = sections[1:]  # the front matter: title, authors, affiliations
    out = []
    for heading, lines in sections:
        body = "\n".join(normalize(p) for p in "\n".join(lines).split("\n\n") if p.strip())
        if body or heading:
            out.append(Section(heading or "Text", body, _level(heading)))
    if not any(s.body for s in out):
        raise UnreadablePdf("the PDF's text has nothing but headings")
    return tuple(out)


def _level(heading: str) -> int:
    """`4.2 Ablations` is a subsection; `3. Method`, `IV. RESULTS` and `Abstract` are sections."""
    number = heading.split(" ")[0].rstrip(".")
    return 1 + number.count(".") if number[:1].isdigit() else 1


def extract_sections(data: bytes) -> tuple[Section, ...]:
    return split_sections(extract_text(data))
