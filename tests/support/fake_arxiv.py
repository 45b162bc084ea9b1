"""A fake arXiv API on 127.0.0.1: real HTTP, real Atom, scriptable failures, every request recorded.

The real `arxiv` client (requests, in a worker thread) talks to it while a
test's event loop runs, so it serves from its own thread
(`ThreadingHTTPServer`). Responses have the shape of arXiv's: an Atom feed
with `opensearch:` totals, entries with `arxiv:` extension elements declared
inline the way export.arxiv.org writes them, abs/pdf/doi links, a primary
category and cross-list categories.

It pages (`start`, `max_results`), sorts by lastUpdatedDate descending and
honours a `lastUpdatedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]` window and `ti:word`
terms (every word in the title) in `search_query`; the rest of the query text
is recorded, not evaluated. `id_list` is answered as arXiv does: the papers it
has, ids it does not know silently left out, and an id that is not shaped like
an arXiv id refused with HTTP 400 and arXiv's error feed (`incorrect id format
for abc`).

Scripting (each rule is used up after `times` requests; the first matching rule wins):

    fake.fail(503, times=6)                       # the next 6 requests get 503
    fake.fail(429, retry_after="1")               # one 429 with Retry-After: 1
    fake.empty_page(start=100)                    # one empty page at start=100
    fake.short_page(start=0, entries=60)          # one page with fewer entries than asked for
    fake.serve_body(b"<feed", times=1)            # a raw body (malformed XML, HTML, a fixture file)
    fake.hang(seconds=2, times=2)                 # answer only after 2 s (past the client's timeout)
    fake.drop()                                   # close the connection without an answer
    gate = fake.hold(); ...; gate.set()           # answer nothing until the test says so
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape, quoteattr

from tests.support import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "arxiv"
API_PATH = "/api/query"
_WINDOW = re.compile(r"lastUpdatedDate:\[(\d{12}) TO (\d{12})\]")
_TITLE_TERM = re.compile(r"\bti:(\w+)")
# What arXiv's id_list accepts as an id (it refuses anything else with a 400): new style, old style, a version.
_ID_SHAPE = re.compile(r"^(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?$")
_ARXIV_NS = 'xmlns:arxiv="http://arxiv.org/schemas/atom"'
_OPENSEARCH_NS = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


@dataclass(frozen=True)
class FakePaper:
    """One paper as arXiv serves it: its current version only, as the API does.

    `title_xml` / `summary_xml`, when set, go into the feed as they are (already
    XML-escaped), to serve entities exactly as arXiv writes them.
    """

    arxiv_id: str
    version: int = 1
    title: str = "A paper"
    summary: str = "We study things."
    authors: tuple[str, ...] = ("Ada Lovelace",)
    published: datetime = utc(2025, 6, 1, 12)
    updated: datetime | None = None  # defaults to `published`
    primary_category: str = "cs.CV"
    categories: tuple[str, ...] = ()  # defaults to (primary_category,)
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    title_xml: str | None = None
    summary_xml: str | None = None

    @property
    def last_updated(self) -> datetime:
        return self.updated or self.published

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    def new_version(self, updated: datetime, **changes) -> "FakePaper":
        return replace(self, version=self.version + 1, updated=updated, **changes)


@dataclass
class RecordedRequest:
    path: str
    params: dict[str, str]
    at: float  # time.monotonic() on arrival
    status: int
    finished: float | None = None  # time.monotonic() when the answer was sent (or the client had left)

    @property
    def start(self) -> int:
        return int(self.params.get("start", "0"))

    @property
    def max_results(self) -> int:
        return int(self.params.get("max_results", "10"))

    @property
    def search_query(self) -> str:
        return self.params.get("search_query", "")

    @property
    def window(self) -> tuple[str, str] | None:
        found = _WINDOW.search(self.search_query)
        return (found.group(1), found.group(2)) if found else None


@dataclass
class _Rule:
    kind: str  # "status", "empty", "short", "body", "hang", "drop"
    times: int
    start: int | None = None  # only requests for this page
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0
    entries: int = 0

    def matches(self, start: int) -> bool:
        return self.times > 0 and (self.start is None or self.start == start)


class FakeArxiv:
    """Start with `with FakeArxiv() as fake:`; point the client at `fake.url`."""

    def __init__(self, papers: Iterable[FakePaper] = ()) -> None:
        self._lock = threading.Lock()
        self._papers: dict[str, FakePaper] = {}
        self._rules: list[_Rule] = []
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.clock: Callable[[], float] = time.monotonic  # what `RecordedRequest.at` is read from
        self._gate = threading.Event()
        self._gate.set()
        self.add(*papers)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True  # a hung answer must not hold up the test's exit
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-arxiv", daemon=True
        )  # a short poll: shutdown() waits up to one interval

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> "FakeArxiv":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_PATH}"

    # --- data ----------------------------------------------------------------------------

    def add(self, *papers: FakePaper) -> None:
        """Add papers, or replace the current version of papers already served."""
        with self._lock:
            for paper in papers:
                self._papers[paper.arxiv_id] = paper

    def paper(self, arxiv_id: str) -> FakePaper:
        return self._papers[arxiv_id]

    # --- scripting -------------------------------------------------------------------------

    def fail(self, status: int, times: int = 1, *, retry_after: str | None = None, start: int | None = None) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = f"<html><body><h1>{status}</h1></body></html>".encode()
        self._script(_Rule("status", times, start, status=status, headers=headers, body=body))

    def empty_page(self, start: int, times: int = 1) -> None:
        self._script(_Rule("empty", times, start))

    def short_page(self, start: int, entries: int, times: int = 1) -> None:
        self._script(_Rule("short", times, start, entries=entries))

    def serve_body(self, body: bytes, times: int = 1, *, start: int | None = None, status: int = 200) -> None:
        self._script(_Rule("body", times, start, status=status, body=body))

    def serve_fixture(self, name: str, times: int = 1, *, start: int | None = None) -> None:
        self.serve_body((FIXTURES / name).read_bytes(), times, start=start)

    def hang(self, seconds: float, times: int = 1, *, start: int | None = None) -> None:
        self._script(_Rule("hang", times, start, seconds=seconds))

    def drop(self, times: int = 1, *, start: int | None = None) -> None:
        self._script(_Rule("drop", times, start))

    def hold(self) -> threading.Event:
        """Requests wait (up to a minute) until the returned event is set."""
        self._gate.clear()
        return self._gate

    def _script(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    # --- serving ---------------------------------------------------------------------------

    def _answer(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes, float]:
        """(status, headers, body, delay) for one request, using up the scripted rule it meets."""
        start = int(params.get("start", "0") or 0)
        with self._lock:
            rule = next((r for r in self._rules if r.matches(start)), None)
            if rule is not None:
                rule.times -= 1
            papers = sorted(self._papers.values(), key=lambda p: (p.last_updated, p.arxiv_id), reverse=True)
        if path != API_PATH:
            return 404, {}, b"not found", 0.0
        if rule is not None and rule.kind == "status":
            return rule.status, rule.headers, rule.body, 0.0
        if rule is not None and rule.kind == "body":
            return rule.status, {}, rule.body, 0.0
        if rule is not None and rule.kind == "drop":
            return 0, {}, b"", 0.0
        delay = rule.seconds if rule is not None and rule.kind == "hang" else 0.0
        ids = [i for i in params.get("id_list", "").split(",") if i]
        malformed = next((i for i in ids if not _ID_SHAPE.match(i)), None)
        if malformed is not None:
            return 400, {}, render_error_feed(f"incorrect id format for {malformed}"), delay
        query = params.get("search_query", "")
        matching = _by_ids(papers, ids) if ids else _with_title_terms(_in_window(papers, query), query)
        size = int(params.get("max_results", "10") or 10)
        page = [] if rule is not None and rule.kind == "empty" else matching[start : start + size]
        if rule is not None and rule.kind == "short":
            page = page[: rule.entries]
        return 200, {}, render_feed(page, total=len(matching), start=start, size=size, params=params), delay

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                arrived = fake.clock()
                parts = urlsplit(self.path)
                params = dict(parse_qsl(parts.query, keep_blank_values=True))
                status, headers, body, delay = fake._answer(parts.path, params)
                record = RecordedRequest(parts.path, params, arrived, status)
                with fake._lock:
                    fake.requests.append(record)  # in arrival order
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                fake._gate.wait(timeout=60)
                if status == 0:  # dropped: no status line at all
                    self.close_connection = True
                    with fake._lock:
                        fake.in_flight -= 1
                    return
                try:
                    if delay:
                        time.sleep(delay)
                    try:
                        self.send_response(status)
                        self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
                        self.send_header("Content-Length", str(len(body)))
                        for name, value in headers.items():
                            self.send_header(name, value)
                        self.end_headers()
                        self.wfile.write(body)
                    except OSError:
                        pass  # the client gave up waiting (a timeout test): nothing to tell it
                finally:
                    with fake._lock:
                        fake.in_flight -= 1
                        record.finished = time.monotonic()

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        return Handler


def _in_window(papers: list[FakePaper], query: str) -> list[FakePaper]:
    found = _WINDOW.search(query)
    if not found:
        return papers
    low, high = found.group(1), found.group(2)
    return [p for p in papers if low <= p.last_updated.strftime("%Y%m%d%H%M") <= high]


def _with_title_terms(papers: list[FakePaper], query: str) -> list[FakePaper]:
    terms = [term.lower() for term in _TITLE_TERM.findall(query)]
    if not terms:
        return papers
    return [p for p in papers if set(terms) <= set(re.findall(r"\w+", p.title.lower()))]


def _by_ids(papers: list[FakePaper], ids: list[str]) -> list[FakePaper]:
    """In the order asked, without the ones arXiv does not have (it says nothing about those)."""
    known = {p.arxiv_id: p for p in papers}
    wanted = [re.sub(r"v\d+$", "", i) for i in ids]
    return [known[i] for i in dict.fromkeys(wanted) if i in known]


# --- Atom, as export.arxiv.org writes it ---------------------------------------------------


def _stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_entry(paper: FakePaper) -> str:
    abs_url = f"http://arxiv.org/abs/{paper.versioned_id}"
    title = paper.title_xml if paper.title_xml is not None else escape(paper.title)
    summary = paper.summary_xml if paper.summary_xml is not None else escape(paper.summary)
    lines = [
        "  <entry>",
        f"    <id>{abs_url}</id>",
        f"    <updated>{_stamp(paper.last_updated)}</updated>",
        f"    <published>{_stamp(paper.published)}</published>",
        f"    <title>{title}</title>",
        f"    <summary>  {summary}\n</summary>",
    ]
    for author in paper.authors:
        lines += ["    <author>", f"      <name>{escape(author)}</name>", "    </author>"]
    if paper.doi:
        lines.append(f"    <arxiv:doi {_ARXIV_NS}>{escape(paper.doi)}</arxiv:doi>")
        lines.append(f'    <link title="doi" href={quoteattr("http://dx.doi.org/" + paper.doi)} rel="related"/>')
    if paper.comment:
        lines.append(f"    <arxiv:comment {_ARXIV_NS}>{escape(paper.comment)}</arxiv:comment>")
    if paper.journal_ref:
        lines.append(f"    <arxiv:journal_ref {_ARXIV_NS}>{escape(paper.journal_ref)}</arxiv:journal_ref>")
    lines += [
        f'    <link href="{abs_url}" rel="alternate" type="text/html"/>',
        f'    <link title="pdf" href="http://arxiv.org/pdf/{paper.versioned_id}" rel="related" type="application/pdf"/>',
        f'    <arxiv:primary_category {_ARXIV_NS} term={quoteattr(paper.primary_category)} scheme="http://arxiv.org/schemas/atom"/>',
    ]
    for category in paper.categories or (paper.primary_category,):
        lines.append(f'    <category term={quoteattr(category)} scheme="http://arxiv.org/schemas/atom"/>')
    lines.append("  </entry>")
    return "\n".join(lines)


def render_feed(papers: list[FakePaper], *, total: int, start: int, size: int, params: dict[str, str] | None = None) -> bytes:
    query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f'  <link href={quoteattr("http://arxiv.org/api/query?" + query)} rel="self" type="application/atom+xml"/>',
        f'  <title type="html">ArXiv Query: {escape(query)}</title>',
        "  <id>http://arxiv.org/api/fake-feed-id</id>",
        "  <updated>2025-06-08T00:00:00-04:00</updated>",
        f"  <opensearch:totalResults {_OPENSEARCH_NS}>{total}</opensearch:totalResults>",
        f"  <opensearch:startIndex {_OPENSEARCH_NS}>{start}</opensearch:startIndex>",
        f"  <opensearch:itemsPerPage {_OPENSEARCH_NS}>{size}</opensearch:itemsPerPage>",
    ]
    body = head + [render_entry(paper) for paper in papers] + ["</feed>", ""]
    return "\n".join(body).encode("utf-8")


def render_error_feed(summary: str) -> bytes:
    """arXiv's answer to a query it refuses (in the 2026 shape): one entry whose id is under /api/errors."""
    anchor = re.sub(r"\W+", "_", summary)
    return "\n".join([
        "<?xml version='1.0' encoding='UTF-8'?>",
        f'<feed {_OPENSEARCH_NS} {_ARXIV_NS} xmlns="http://www.w3.org/2005/Atom">',
        "  <id>https://arxiv.org/</id>",
        "  <title>arXiv Search Results</title>",
        "  <updated>2026-04-12T22:59:06Z</updated>",
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>",
        "  <opensearch:totalResults>1</opensearch:totalResults>",
        "  <opensearch:startIndex>0</opensearch:startIndex>",
        "  <entry>",
        f"    <id>https://arxiv.org/api/errors#{anchor}</id>",
        "    <title>Error</title>",
        "    <updated>2026-04-12T22:59:06Z</updated>",
        f'    <link href="https://arxiv.org/api/errors#{anchor}" rel="alternate" type="text/html"/>',
        f"    <summary>{escape(summary)}</summary>",
        "    <author>",
        "      <name>arXiv api core</name>",
        "    </author>",
        "  </entry>",
        "</feed>",
        "",
    ]).encode("utf-8")
