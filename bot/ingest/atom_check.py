"""A strict second look at each arXiv API response, before its papers are trusted.

The `arxiv` package parses responses with a recovering XML parser: a truncated
page, a proxy's HTML error page or plain garbage comes back as "a page with
fewer (or no) results", which a fetcher would take for the end of the result
set. That silently loses papers, so every response body is also parsed here,
strictly, to tell three things apart:

- a well-formed Atom page: how many entries it holds and arXiv's opensearch
  total, which the fetcher needs to page on and to recognise arXiv's
  occasional empty page in the middle of a result set;
- a malformed or foreign document: a clear `FeedError`, never a crash;
- arXiv's own error feed (one entry whose id is `.../api/errors#...`), which
  arXiv uses to reject a query: a clear `FeedError` carrying arXiv's words.

The parser never resolves entities or touches the network (the response is
untrusted input), so this is safe to run on anything a server sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from bot.errors import RemoteError

ATOM = "http://www.w3.org/2005/Atom"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
_NS = {"atom": ATOM, "opensearch": OPENSEARCH}
_ERROR_ID_MARK = "/api/errors"
_SNIPPET = 80


class FeedError(RemoteError):
    """A response that is not a usable arXiv Atom page; `str()` is the message for logs and reports."""


@dataclass(frozen=True)
class FeedCheck:
    """What a well-formed page says about itself."""

    total_results: int
    start_index: int
    entry_count: int


def check_feed(body: bytes) -> FeedCheck:
    """Parse `body` strictly; raise `FeedError` unless it is an arXiv Atom result page."""
    if not body.strip():
        raise FeedError("arXiv returned malformed XML (an empty response body)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as error:
        raise FeedError(f"arXiv returned malformed XML ({_syntax_error(error)}; body starts {_snippet(body)})") from None
    if root.tag != f"{{{ATOM}}}feed":
        raise FeedError(f"arXiv returned a document that is not an Atom feed (root element <{_local(root.tag)}>)")
    entries = root.findall("atom:entry", _NS)
    _raise_if_api_error(entries)
    total = _opensearch_int(root, "totalResults")
    start = _opensearch_int(root, "startIndex", default=0)
    return FeedCheck(total_results=total, start_index=start, entry_count=len(entries))


def _opensearch_int(root: etree._Element, name: str, default: int | None = None) -> int:
    element = root.find(f"opensearch:{name}", _NS)
    if element is None or not (element.text or "").strip():
        if default is not None:
            return default
        raise FeedError(f"arXiv returned an Atom feed without opensearch:{name}: not an API result page")
    try:
        return int(element.text.strip())
    except ValueError:
        raise FeedError(f"arXiv returned a non-numeric opensearch:{name} ({element.text.strip()[:_SNIPPET]!r})") from None


def _raise_if_api_error(entries: list[etree._Element]) -> None:
    # arXiv answers a query it cannot run with one entry whose id names the error.
    for entry in entries:
        entry_id = (entry.findtext("atom:id", default="", namespaces=_NS) or "").strip()
        if _ERROR_ID_MARK in entry_id:
            summary = " ".join((entry.findtext("atom:summary", default="", namespaces=_NS) or "").split())
            raise FeedError(f"arXiv rejected the query: {summary or entry_id}")


def _syntax_error(error: etree.XMLSyntaxError) -> str:
    message = (error.msg or str(error)).strip()
    # libxml2 usually names the line and column itself; add them only when it did not.
    if "line" not in message and error.position:
        line, column = error.position
        message = f"{message}, line {line}, column {column}"
    return message


def _snippet(body: bytes) -> str:
    text = body[:_SNIPPET].decode("utf-8", "replace")
    return repr(" ".join(text.split()) + ("…" if len(body) > _SNIPPET else ""))


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]
