"""arXiv's HTML rendering (LaTeXML) to sections, and the paper's key figure.

Why this module exists: arXiv renders most new papers' LaTeX to HTML with
LaTeXML, whose markup names what everything is: `article.ltx_document`,
`section.ltx_section` (and `ltx_subsection`, ...) with an `ltx_title`
heading, `div.ltx_abstract`, `figure.ltx_figure` with `figcaption`,
`section.ltx_bibliography` and `section.ltx_appendix`. That gives real
sections and captions, which a PDF's text layer does not.

Kept: the abstract, every section and subsection with its heading, figure
and table captions (a table's caption says what it measures; its cells are
left out, they read as noise). Dropped: the bibliography, appendices,
footnotes, LaTeXML's navigation and page furniture. Math becomes its LaTeX
source (`alttext`), which a model reads well; MathML would come out as
scattered symbols.

The key figure is the first `figure.ltx_figure` with an image: its URL made
absolute against the page's `<base>` (arXiv sets `/html/<id>v<n>/`) and its
caption without the "Figure 1:" tag.
"""

from __future__ import annotations

import re
from copy import deepcopy
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from bot.fulltext.document import Section
from bot.models import Figure
from bot.text import normalize, shorten

MAX_CAPTION_CHARS = 600  # shown under an image in chat; a caption is a paragraph at most

_SECTION_LEVELS = {
    "ltx_section": 1, "ltx_subsection": 2, "ltx_subsubsection": 3, "ltx_paragraph": 4, "ltx_subparagraph": 4,
}  # fmt: skip
_DROPPED_SECTIONS = {"ltx_bibliography", "ltx_appendix", "ltx_index", "ltx_glossary"}
# Footnotes interrupt sentences; tags of equations and the page's own chrome are noise.
_SKIPPED_CLASSES = {"ltx_note", "ltx_tag_equation", "ltx_page_navbar", "ltx_page_footer", "ltx_page_header", "ltx_ERROR"}
_SKIPPED_TAGS = {"script", "style", "noscript", "button", "nav", "annotation", "annotation-xml"}
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r" (?=[.,;:!?)\]](?:\s|$))")  # left by math padding: "x^2 ." -> "x^2."


class NotLatexml(ValueError):
    """An HTML page that is not a LaTeXML rendering of a paper (arXiv's error page, a proxy's)."""


def _classes(element: etree._Element) -> set[str]:
    return set((element.get("class") or "").split())


def _local(element: etree._Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def text_of(element: etree._Element) -> str:
    """The readable text of an element: math as its LaTeX, skipped parts left out, spaces collapsed."""
    parts: list[str] = []
    _collect(element, parts)
    return _SPACE_BEFORE_PUNCT.sub("", _SPACES.sub(" ", "".join(parts))).strip()


def _collect(element: etree._Element, parts: list[str]) -> None:
    name = _local(element)
    if name == "math":
        alt = element.get("alttext")
        parts.append(f" {alt} " if alt else "")
    elif name and name not in _SKIPPED_TAGS and not (_classes(element) & _SKIPPED_CLASSES):
        if element.text:
            parts.append(element.text)
        for child in element:
            _collect(child, parts)
        if name in ("p", "div", "li", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption"):
            parts.append(" ")
    if element.tail:
        parts.append(element.tail)


def _heading(section: etree._Element) -> str:
    for child in section:
        if _local(child) in ("h1", "h2", "h3", "h4", "h5", "h6") and "ltx_title" in _classes(child):
            return text_of(child)
    return ""


def _caption(figure: etree._Element, *, drop_tag: bool) -> str:
    captions = [child for child in figure if _local(child) == "figcaption"]
    if not captions:
        return ""
    caption = captions[-1]
    if drop_tag:
        caption = _without(caption, "ltx_tag")
    return normalize(text_of(caption))


def _without(element: etree._Element, css_class: str) -> etree._Element:
    """A copy of `element` without its descendants of `css_class` (their tails kept)."""
    copy = deepcopy(element)
    for found in [e for e in copy.iter() if css_class in _classes(e) and e is not copy]:
        found.drop_tree()
    return copy


def _body_parts(container: etree._Element, out: list[Section], level: int) -> list[str]:
    """The paragraphs and captions directly in `container`; nested sections go to `out` as their own."""
    parts: list[str] = []
    for child in container:
        name, classes = _local(child), _classes(child)
        if not name or classes & _SKIPPED_CLASSES or name in _SKIPPED_TAGS:
            continue
        if classes & _DROPPED_SECTIONS:
            continue
        nested = next((_SECTION_LEVELS[c] for c in classes if c in _SECTION_LEVELS), None)
        if name == "section" and nested is not None:
            _walk(child, out, nested)
        elif name in ("h1", "h2", "h3", "h4", "h5", "h6") and "ltx_title" in classes:
            continue  # the section's own heading
        elif name == "figure":
            caption = _caption(child, drop_tag=False)
            if caption:
                parts.append(caption)
        elif name == "section" or (name == "div" and not classes & {"ltx_para", "ltx_p"} and len(child)):
            parts += _body_parts(child, out, level)  # an unnamed wrapper: look inside
        else:
            text = normalize(text_of(child))
            if text:
                parts.append(text)
    return parts


def _walk(section: etree._Element, out: list[Section], level: int) -> None:
    index = len(out)
    out.append(Section(_heading(section), "", level))
    body = "\n".join(_body_parts(section, out, level))
    out[index] = Section(out[index].heading, body, level)


def _document(data: bytes) -> etree._Element:
    try:
        root = lxml.html.document_fromstring(data)
    except (etree.ParserError, ValueError) as error:
        raise NotLatexml(f"not an HTML document ({error})") from None
    article = next((el for el in root.iter("article") if "ltx_document" in _classes(el)), None)
    if article is None:
        raise NotLatexml('no LaTeXML document in the page (no <article class="ltx_document">)')
    return article


def extract(data: bytes, page_url: str) -> tuple[tuple[Section, ...], Figure | None]:
    """The paper's sections and its key figure, from one parse of the page."""
    article = _document(data)
    return _sections(article), _key_figure(article, page_url)


def extract_sections(data: bytes) -> tuple[Section, ...]:
    return _sections(_document(data))


def _sections(article: etree._Element) -> tuple[Section, ...]:
    """The paper's sections in reading order: the abstract first, then sections and subsections."""
    out: list[Section] = []
    for abstract in article.iter("div"):
        if "ltx_abstract" in _classes(abstract):
            text = normalize(text_of(_without(abstract, "ltx_title")))
            if text:
                out.append(Section("Abstract", text, 1))
            break
    for child in article:
        classes = _classes(child)
        level = next((_SECTION_LEVELS[c] for c in classes if c in _SECTION_LEVELS), None)
        if _local(child) == "section" and level is not None and not classes & _DROPPED_SECTIONS:
            _walk(child, out, level)
    sections = tuple(s for s in out if s.body or s.heading)
    if not any(s.body for s in sections):
        raise NotLatexml("the LaTeXML document has no text")
    return sections


def key_figure(data: bytes, page_url: str) -> Figure | None:
    return _key_figure(_document(data), page_url)


def _key_figure(article: etree._Element, page_url: str) -> Figure | None:
    """The first figure with an image, its URL absolute and its caption clean; None when there is none."""
    base = _base_url(article, page_url)
    for figure in article.iter("figure"):
        classes = _classes(figure)
        if "ltx_figure" not in classes or _inside_dropped(figure):
            continue
        image = next((img for img in figure.iter("img") if (img.get("src") or "").strip()), None)
        if image is None:
            continue
        url = urljoin(base, image.get("src", "").strip())
        if not url.startswith(("http://", "https://")):
            continue
        return Figure(url, shorten(_caption(figure, drop_tag=True), MAX_CAPTION_CHARS))
    return None


def _inside_dropped(element: etree._Element) -> bool:
    parent = element.getparent()
    while parent is not None:
        if _classes(parent) & _DROPPED_SECTIONS:
            return True
        parent = parent.getparent()
    return False


def _base_url(article: etree._Element, page_url: str) -> str:
    """Where relative image paths start: the page's `<base href>`, else its directory.

    arXiv serves `/html/<id>v<n>` and its images under `/html/<id>v<n>/`; without a
    `<base>` the page URL is read as that directory."""
    root = article.getroottree().getroot()
    for base in root.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            return urljoin(page_url, href)
    return page_url if page_url.endswith("/") else page_url + "/"
