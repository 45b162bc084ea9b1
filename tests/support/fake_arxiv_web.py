"""A fake arxiv.org web server on 127.0.0.1: HTML renderings and PDFs the tests build, and failures.

The real fetcher (`bot.fulltext.fetch`, aiohttp) talks to it from a test's
event loop or from a `paperbot` subprocess, so it serves from its own thread
with its own event loop. Like arxiv.org it serves `/html/<id>v<n>` (a
LaTeXML page, whose images live under `/html/<id>v<n>/`) and
`/pdf/<id>v<n>`, and answers 404 for a paper it has no rendering of.

Documents are built here with the structure the real ones have:

    latexml_page(title, abstract, sections=[...], figures=True)  # LaTeXML markup
    make_pdf([["1 Introduction", "text ..."], [...]])            # a real PDF (pypdf), one list of lines per page

Scripting (each rule is used up after `times` requests, in order; `path` is a prefix to match):

    web.add_html("2501.00001v1", page)          # serve this page
    web.add_pdf("2501.00001v1", pdf_bytes)
    web.fail(429, retry_after="2", path="/html/")
    web.huge("/pdf/2501.00002v1", megabytes=60, declare_length=False)  # a body streamed until the client stops reading
"""

from __future__ import annotations

import asyncio
import html
import io
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

from aiohttp import web

from tests.support.local_server import ThreadedFake


@dataclass
class _Rule:
    kind: str  # fail | huge
    path: str
    times: int
    status: int = 200
    retry_after: str | None = None
    megabytes: float = 0.0
    declare_length: bool = True


@dataclass
class FakeArxivWeb(ThreadedFake):
    """Start with `with FakeArxivWeb() as web:`; `web.url` is what ARXIV_WEB_URL should be."""

    thread_name = "fake-arxiv-web"

    documents: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    bytes_sent: dict[str, int] = field(default_factory=dict)
    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- content and scripting --------------------------------------------------------

    def add_html(self, ref: str, page: str | bytes) -> "FakeArxivWeb":
        data = page.encode("utf-8") if isinstance(page, str) else page
        self.documents[f"/html/{ref}"] = (data, "text/html; charset=utf-8")
        return self

    def add_pdf(self, ref: str, data: bytes) -> "FakeArxivWeb":
        self.documents[f"/pdf/{ref}"] = (data, "application/pdf")
        return self

    def fail(self, status: int, *, retry_after: str | None = None, path: str = "/", times: int = 1) -> "FakeArxivWeb":
        return self._add(_Rule("fail", path, times, status=status, retry_after=retry_after))

    def huge(self, path: str, *, megabytes: float, declare_length: bool = True, times: int = 1) -> "FakeArxivWeb":
        return self._add(_Rule("huge", path, times, megabytes=megabytes, declare_length=declare_length))

    def _add(self, rule: _Rule) -> "FakeArxivWeb":
        with self._lock:
            self._rules.append(rule)
        return self

    def _rule_for(self, path: str) -> _Rule | None:
        with self._lock:
            for rule in self._rules:
                if path.startswith(rule.path):
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    # --- serving ----------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        with self._lock:
            self.requests.append(path)
        rule = self._rule_for(path)
        if rule is not None and rule.kind == "fail":
            headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
            return web.Response(
                status=rule.status,
                text=f"<html><body>HTTP {rule.status}</body></html>",
                content_type="text/html",
                headers=headers,
            )
        if rule is not None and rule.kind == "huge":
            return await self._stream_huge(request, rule)
        found = self.documents.get(path)
        if found is None:
            # arxiv.org answers a paper without an HTML rendering like this.
            body = f"<html><body><h1>No HTML for '{html.escape(path.rsplit('/', 1)[-1])}'</h1></body></html>"
            return web.Response(status=404, text=body, content_type="text/html")
        data, content_type = found
        return web.Response(body=data, headers={"Content-Type": content_type})

    async def _stream_huge(self, request: web.Request, rule: _Rule) -> web.StreamResponse:
        total = int(rule.megabytes * 1024 * 1024)
        response = web.StreamResponse(headers={"Content-Type": "application/pdf"})
        if rule.declare_length:
            response.content_length = total
        await response.prepare(request)
        chunk = b"%PDF-1.4\n" + b"0" * (256 * 1024 - 9)
        sent = 0
        try:
            while sent < total:
                await response.write(chunk)
                sent += len(chunk)
                self.bytes_sent[request.path] = sent
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError, RuntimeError):
            pass  # the client stopped reading, as it should past its cap
        return response

    # --- lifecycle --------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._serve)
        return app

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# --- documents --------------------------------------------------------------------------

Paragraphs = Sequence[str]


@dataclass(frozen=True)
class Sec:
    """A section of a test paper: heading, paragraphs, subsections, and optionally a figure."""

    heading: str
    paragraphs: Paragraphs = ()
    subsections: Sequence["Sec"] = ()
    figure: tuple[str, str] | None = None  # (image src, caption)


def _para(text: str, ident: str) -> str:
    return f'<div class="ltx_para" id="{ident}"><p class="ltx_p" id="{ident}.1">{text}</p></div>'


def _figure(src: str, caption: str, ident: str, number: int) -> str:
    return (
        f'<figure class="ltx_figure" id="{ident}"><img alt="Refer to caption" '
        f'class="ltx_graphics ltx_centering ltx_img_landscape" height="300" id="{ident}.g1" src="{src}" width="600"/>'
        f'<figcaption class="ltx_caption ltx_centering"><span class="ltx_tag ltx_tag_figure">Figure {number}: </span>'
        f"{caption}</figcaption>"
        "</figure>"
    )


def _section(sec: Sec, ident: str, number: str, level: int, counter: list[int]) -> str:
    kind = {1: "section", 2: "subsection", 3: "subsubsection"}[level]
    tag = f"h{level + 1}"
    parts = [
        f'<section class="ltx_{kind}" id="{ident}">',
        f'<{tag} class="ltx_title ltx_title_{kind}"><span class="ltx_tag ltx_tag_{kind}">{number} </span>{sec.heading}</{tag}>',
    ]
    for n, text in enumerate(sec.paragraphs, 1):
        parts.append(_para(text, f"{ident}.p{n}"))
    if sec.figure is not None:
        counter[0] += 1
        parts.append(_figure(sec.figure[0], sec.figure[1], f"{ident}.F{counter[0]}", counter[0]))
    for n, sub in enumerate(sec.subsections, 1):
        parts.append(_section(sub, f"{ident}.SS{n}", f"{number}.{n}", level + 1, counter))
    parts.append("</section>")
    return "\n".join(parts)


def latexml_page(
    title: str, abstract: str, sections: Sequence[Sec], *, ref: str = "2501.00001v1",
    references: Sequence[str] = ("A. Author. An old paper. 2020.",), appendix: Sequence[str] = (),
) -> str:  # fmt: skip
    """An arXiv HTML page as LaTeXML writes it (the parts paperbot reads, with their real classes)."""
    counter = [0]
    body = [_section(sec, f"S{n}", str(n), 1, counter) for n, sec in enumerate(sections, 1)]
    bib = "".join(
        f'<li class="ltx_bibitem" id="bib.bib{n}"><span class="ltx_bibblock">{r}</span></li>' for n, r in enumerate(references, 1)
    )
    appendix_html = "".join(
        f'<section class="ltx_appendix" id="A{n}"><h2 class="ltx_title ltx_title_appendix">'
        f'<span class="ltx_tag ltx_tag_appendix">Appendix {chr(64 + n)} </span>Details</h2>{_para(text, f"A{n}.p1")}</section>'
        for n, text in enumerate(appendix, 1)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta content="text/html; charset=utf-8" http-equiv="content-type"/>
<title>{title}</title>
<base href="/html/{ref}/"/>
</head>
<body>
<nav class="ltx_page_navbar"><a href="#S1">1 Introduction</a></nav>
<div class="ltx_page_main">
<header class="ltx_page_header">arXiv:{ref}</header>
<div class="ltx_page_content">
<article class="ltx_document ltx_authors_1line">
<h1 class="ltx_title ltx_title_document">{title}</h1>
<div class="ltx_authors"><span class="ltx_creator ltx_role_author"><span class="ltx_personname">Ada Lovelace</span></span></div>
<div class="ltx_abstract">
<h6 class="ltx_title ltx_title_abstract">Abstract</h6>
<p class="ltx_p" id="id1.id1">{abstract}</p>
</div>
{chr(10).join(body)}
<section class="ltx_bibliography" id="bib">
<h2 class="ltx_title ltx_title_bibliography">References</h2>
<ul class="ltx_biblist">{bib}</ul>
</section>
{appendix_html}
</article>
</div>
<footer class="ltx_page_footer">Generated by LaTeXML</footer>
</div>
</body>
</html>"""


def make_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A real PDF with a text layer: one page per list of lines, in Helvetica (pypdf writes it)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    for lines in pages:
        page = writer.add_blank_page(width=612, height=792)
        font = DictionaryObject({
            NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"), NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        })  # fmt: skip
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
        )
        commands = ["BT", "/F1 10 Tf", "14 TL", "50 750 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            commands.append(f"({escaped}) Tj T*")
        commands.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(commands).encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def paper_record(**fields: Any) -> dict[str, Any]:
    return fields
