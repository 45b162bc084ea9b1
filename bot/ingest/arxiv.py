"""Fetching new papers for the tracked topics from the arXiv API: politely, incrementally, losing nothing.

The `arxiv` package speaks the protocol (the query URL, Atom entries into
`arxiv.Result`s). On its own it would break paperbot's rules: its Session has
no timeout, it retries at once with no backoff and no regard for Retry-After,
its XML parser silently recovers from garbage, and it sleeps in the calling
thread. So this module drives it one page at a time and keeps the rules here:

- Politeness: one request at a time in the whole process, the starts of any
  two requests (retries included) at least `fetch.delay_seconds` apart
  (`RequestLimiter`); pages of `fetch.page_size`; the blocking client runs in
  a worker thread and every wait is an injectable async sleep, so tests run
  in milliseconds.
- Failures: HTTP 429 and 5xx, timeouts, dropped connections and arXiv's
  occasional empty page in the middle of a result set are retried with
  exponential backoff (`backoff_seconds * 2**n`, capped, with jitter),
  waiting at least as long as a Retry-After header asks (`bot.retry`). After
  the last retry the topic's fetch fails with ONE error log line and a failed
  `FetchReport`; nothing is raised at the caller, so the scheduler survives.
  Malformed XML and other non-feeds fail at once with a clear message.
- Unreachable: a DNS failure or a refused connection (the machine is
  offline, the host is wrong) is not retried: minutes of backoff would not
  bring the network back. One WARNING says arXiv is unreachable, the other
  topics of the run are not tried, and the next scheduled fetch tries again.
- Incremental: each page is stored as it arrives (one `upsert_papers` call per
  page), so a later failure keeps what was stored; the topic's cursor moves
  only after the whole fetch succeeded. A new version of a known paper
  updates it (the store keys papers by versionless id).

The query sent for a topic is its own query AND its category filter (so
cross-listed papers count) AND a `lastUpdatedDate` window (GMT, to the
minute, as the arXiv API manual documents), newest first:

    (abs:"reward model") AND (cat:cs.CV OR cat:cs.CL) AND lastUpdatedDate:[202506070930 TO 202506081200]

The window starts one day before the cursor (papers are announced a while
after they are submitted; the overlap catches late arrivals), or at
`--since`, or on a topic's first fetch `fetch.first_fetch_days` ago; it ends now.

Meta keys (`PaperStore.get_meta`/`set_meta`), one set per topic name, times
as `YYYY-MM-DDTHH:MM:SSZ` (UTC):

- `arxiv.cursor.<topic>`: the newest `updated` (arXiv lastUpdatedDate) seen.
- `arxiv.last_success.<topic>`: when the last successful fetch finished
  (`last_fetch()` reads it: the scheduler fetches at start when it is older
  than the schedule period).
- `arxiv.last_error.<topic>`: `<time> <message>` of the most recent failure;
  kept after later successes, so compare its time with last_success.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import weakref
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from typing import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from urllib.parse import urlsplit

import arxiv
import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from bot.arxiv_ids import parse_arxiv_id
from bot.config import ConfigError, EnvSettings, FetchConfig, FileConfig
from bot.errors import RemoteError, UserError
from bot.ingest.atom_check import FeedCheck, FeedError, check_feed
from bot.ingest.title_match import title_query
from bot.models import IdLookup, Paper, TextQuality, Topic, UpsertReport
from bot.ports import Clock, PaperStore, SystemClock
from bot.progress import Progress, track
from bot.retry import RetryPolicy, parse_retry_after
from bot.summarize import find_code_url
from bot.text import normalize
from bot.utc import iso, parse_iso_or_none

__all__ = [
    "ArxivFetchError",
    "ArxivFetcher",
    "ArxivUnreachable",
    "CURSOR_KEY",
    "FetchReport",
    "ID_BATCH",
    "LAST_ERROR_KEY",
    "LAST_SUCCESS_KEY",
    "PROCESS_LIMITER",
    "RequestLimiter",
    "fetch_window",
    "fetchable_topics",
    "topics_to_fetch",
    "last_error",
    "last_fetch",
    "paper_from_result",
    "read_cursor",
    "resolve_api_url",
    "search_query",
]

log = logging.getLogger("paperbot.arxiv")

CURSOR_KEY = "arxiv.cursor.{topic}"
LAST_SUCCESS_KEY = "arxiv.last_success.{topic}"
LAST_ERROR_KEY = "arxiv.last_error.{topic}"

ID_BATCH = 100  # ids in one `id_list` request: arXiv answers up to a page of them
TITLE_CANDIDATES = 10  # papers a title lookup weighs
QUERY_TIME_FORMAT = "%Y%m%d%H%M"  # arXiv's date-range syntax: GMT, to the minute
OVERLAP = timedelta(days=1)
# A longer Retry-After than `max_retry_after` means "not today": give up now and let the next
# scheduled run try. Attempts and the first backoff are the config's (`[fetch] retries, backoff_seconds`).
RETRY = RetryPolicy(max_backoff=300.0, max_retry_after=900.0, jitter=0.1)

Sleep = Callable[[float], Awaitable[None]]


class ArxivFetchError(RemoteError):
    """arXiv could not give us a page: after the last retry, or at once when retrying cannot help."""

    def __init__(self, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = attempts


class ArxivUnreachable(ArxivFetchError):
    """No connection at all (DNS failure, connection refused): not retried until the next fetch."""


@dataclass(frozen=True)
class FetchReport:
    """What one topic's fetch did. `error` is the one-line message that was logged, when it failed."""

    topic: str
    ok: bool
    pages: int = 0
    seen: int = 0
    stored: UpsertReport = UpsertReport()
    error: str | None = None
    cursor_before: str | None = None
    cursor_after: str | None = None
    duration: float = 0.0
    total: int | None = None  # arXiv's count of papers in the window
    window_start: str | None = None
    skipped: bool = False
    unreachable: str | None = None  # why arXiv could not be reached at all; the run's other topics were not tried

    def summary(self) -> str:
        """One line for the CLI and the log."""
        if self.skipped:
            return f"{self.topic}: skipped (no arXiv query)"
        if not self.ok:
            return f"{self.error} ({self.seen} papers stored before the failure; cursor not moved)"
        pages = f"{self.pages} page{'s' if self.pages != 1 else ''}"
        return (
            f"{self.topic}: {self.seen} papers from arXiv ({self.stored.counts()}) in {pages}, "
            f"{self.duration:.1f} s; cursor {self.cursor_after or 'none'}"
        )


# --- configuration ------------------------------------------------------------------


def resolve_api_url(config: FileConfig, env: EnvSettings | None = None) -> str:
    """The arXiv endpoint: the ARXIV_API_URL environment variable beats `arxiv_api_url` in the config."""
    env = env if env is not None else EnvSettings()
    override = (env.arxiv_api_url or "").strip()
    if not override:
        return config.arxiv_api_url
    if not re.match(r"^https?://[^/\s?#]+", override):
        raise ConfigError("environment", "ARXIV_API_URL", "must be an http:// or https:// URL")
    return override


def topics_to_fetch(config: FileConfig, stored: Iterable[Topic] = ()) -> list[Topic]:
    """The configured topics, then the `stored` ones the config does not name (made in chat from `terms`),
    each with its arXiv query: the topics a scheduled fetch fetches."""
    return [topic for topic in _known_topics(config, stored) if topic.query]


def _known_topics(config: FileConfig, stored: Iterable[Topic]) -> list[Topic]:
    topics = config.topic_list()
    configured = {topic.name for topic in topics}
    return topics + [topic for topic in stored if topic.name not in configured]


def fetchable_topics(config: FileConfig, name: str | None = None, stored: Iterable[Topic] = ()) -> list[Topic]:
    """`topics_to_fetch`, or just `name`; a UserError names the choices."""
    topics = _known_topics(config, stored)
    fetchable = [topic for topic in topics if topic.query]
    choices = ", ".join(topic.name for topic in fetchable) or "none: no configured topic has a query"
    if name is None:
        if not fetchable:
            raise UserError(
                "nothing to fetch: no configured topic has an arXiv query", "Add `query = ...` to a [[topics]] entry."
            )
        return fetchable
    for topic in topics:
        if topic.name == name:
            if topic.query:
                return [topic]
            raise UserError(f"topic '{name}' has no arXiv query (it is a paper-list topic); topics to fetch: {choices}")
    raise UserError(f"unknown topic '{name}'; topics to fetch: {choices}")


# --- the query ----------------------------------------------------------------------


def fetch_window(cursor: datetime | None, since: date | None, now: datetime, first_fetch_days: int) -> tuple[datetime, datetime]:
    """(start, end) of the lastUpdatedDate window to ask for, both UTC."""
    now = now.astimezone(timezone.utc)
    if since is not None:
        start = datetime.combine(since, clock_time(), timezone.utc)
    elif cursor is not None:
        start = cursor.astimezone(timezone.utc) - OVERLAP
    else:
        start = datetime.combine(now.date() - timedelta(days=first_fetch_days), clock_time(), timezone.utc)
    return start, now


def search_query(topic: Topic, start: datetime, end: datetime) -> str:
    """The `search_query` text for a topic and window (unencoded; the arxiv package encodes it)."""
    if not topic.query:
        raise ValueError(f"topic {topic.name!r} has no arXiv query")
    parts = [f"({topic.query})"]
    if topic.categories:
        parts.append("(" + " OR ".join(f"cat:{category}" for category in topic.categories) + ")")
    parts.append(
        f"lastUpdatedDate:[{start.astimezone(timezone.utc):{QUERY_TIME_FORMAT}} "
        f"TO {end.astimezone(timezone.utc):{QUERY_TIME_FORMAT}}]"
    )
    return " AND ".join(parts)


def _query_url_format(api_url: str) -> str:
    # The package fills "{}" with the encoded parameters; braces in the URL itself must survive .format.
    escaped = api_url.replace("{", "{{").replace("}", "}}")
    return escaped + ("&" if "?" in api_url else "?") + "{}"


def _endpoint_label(api_url: str) -> str:
    """host[:port]/path: enough to say where a failure came from, never credentials or the query."""
    parts = urlsplit(api_url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.hostname or '?'}{port}{parts.path}"


# --- meta: cursors and fetch times ----------------------------------------------------


def _topic_name(topic: Topic | str) -> str:
    return topic.name if isinstance(topic, Topic) else topic


async def read_cursor(store: PaperStore, topic: Topic | str) -> datetime | None:
    """The newest lastUpdatedDate seen for the topic; None before its first successful fetch."""
    text = await store.get_meta(CURSOR_KEY.format(topic=_topic_name(topic)))
    cursor = parse_iso_or_none(text)
    if text and cursor is None:
        log.warning("ignoring an unreadable arXiv cursor for topic %s: %r", _topic_name(topic), text)
    return cursor


async def last_fetch(store: PaperStore, topic: Topic | str) -> datetime | None:
    """When the topic's last successful fetch finished; None if it never succeeded."""
    return parse_iso_or_none(await store.get_meta(LAST_SUCCESS_KEY.format(topic=_topic_name(topic))))


async def last_error(store: PaperStore, topic: Topic | str) -> tuple[datetime | None, str] | None:
    """(when, message) of the topic's most recent failed fetch, or None if none ever failed."""
    text = await store.get_meta(LAST_ERROR_KEY.format(topic=_topic_name(topic)))
    if not text:
        return None
    stamp, _, message = text.partition(" ")
    return parse_iso_or_none(stamp), message


# --- from arxiv.Result to Paper ---------------------------------------------------------

# `<category>` also lists ACM and MSC classes ("I.2.10", "68T05"); only arXiv categories count.
_ARXIV_CATEGORY = re.compile(r"[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z]+(?:-[A-Za-z]+)*)?")


def _categories(result: arxiv.Result) -> tuple[str, ...]:
    ordered = [result.primary_category, *result.categories]  # primary first
    return tuple(dict.fromkeys(c for c in ordered if c and _ARXIV_CATEGORY.fullmatch(c)))


def paper_from_result(result: arxiv.Result, topic_name: str) -> Paper | None:
    """The Paper for one API entry (in no topic when `topic_name` is ""), or None when its id is not an arXiv id."""
    parsed = parse_arxiv_id(result.entry_id)
    if parsed is None:
        return None
    return Paper(
        arxiv_id=parsed.arxiv_id,
        version=parsed.version or 1,
        # Entities decoded (arXiv escapes some twice), NFC, hard wraps as spaces; LaTeX is kept.
        title=normalize(result.title),
        abstract=normalize(result.summary),
        authors=tuple(name for name in (normalize(author.name) for author in result.authors) if name),
        published=result.published.astimezone(timezone.utc).date().isoformat(),  # <published> is v1's date
        updated=iso(result.updated),
        categories=_categories(result),
        comment=normalize(result.comment) or None,
        journal_ref=normalize(result.journal_ref) or None,
        doi=normalize(result.doi) or None,
        # The raw texts: a URL split by a hard wrap is only recognisable with its line break.
        code_url=find_code_url(result.summary, result.comment),
        text_quality=TextQuality.CLEAN,
        topics=(topic_name,) if topic_name else (),
    )


# --- politeness ---------------------------------------------------------------------


class RequestLimiter:
    """One arXiv request at a time, their starts at least `delay` seconds apart, process-wide.

    An asyncio lock belongs to one event loop, so the locks are kept per loop;
    the time of the last request start is shared by all of them (a service runs
    one loop, a test suite many).
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._last_start: float | None = None
        self._guard = threading.Lock()
        self._request_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()
        self._fetch_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def _lock(self, table: weakref.WeakKeyDictionary) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            lock = table.get(loop)
            if lock is None:
                lock = table[loop] = asyncio.Lock()
            return lock

    def exclusive(self) -> asyncio.Lock:
        """Held for a whole topic fetch: a scheduled and a CLI-triggered fetch never interleave."""
        return self._lock(self._fetch_locks)

    @asynccontextmanager
    async def slot(self, delay: float, sleep: Sleep) -> AsyncIterator[None]:
        """Wait for our turn and the spacing, then hold the turn while the request runs."""
        async with self._lock(self._request_locks):
            with self._guard:
                last = self._last_start
            if last is not None:
                wait = last + delay - self._monotonic()
                if wait > 0:
                    await sleep(wait)
            with self._guard:
                self._last_start = self._monotonic()
            yield


PROCESS_LIMITER = RequestLimiter()
SYSTEM_CLOCK = SystemClock()  # the default clock of every ArxivFetcher


# --- one page through the arxiv package ---------------------------------------------------


@dataclass(frozen=True)
class _Failure:
    message: str
    retryable: bool
    retry_after: str | None = None  # the raw header; parsed against the clock when waiting
    unreachable: bool = False


class _AttemptFailed(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _PageBoundary(Exception):
    """The package asked for a further page inside one page call; we page (and space) ourselves."""


class _GuardedSession(requests.Session):
    """The package's Session, with a timeout on every request, no hidden retries, and the last response kept.

    The package's HTTPError carries only the status; Retry-After and the body
    (checked strictly by `check_feed`) come from the response this keeps.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.last_response: requests.Response | None = None
        self.requests_left: int | None = None
        no_retries = HTTPAdapter(max_retries=0)  # retries are ours: spaced, counted and logged
        self.mount("http://", no_retries)
        self.mount("https://", no_retries)
        self.hooks["response"].append(self._remember)

    def _remember(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        self.last_response = response

    def request(self, method, url, *args, **kwargs):
        if self.requests_left is not None:
            if self.requests_left <= 0:
                raise _PageBoundary()
            self.requests_left -= 1
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().request(method, url, *args, **kwargs)


@dataclass(frozen=True)
class _Page:
    results: list[arxiv.Result]
    check: FeedCheck


class _PageClient(arxiv.Client):
    """An arxiv.Client that makes exactly one request per `fetch_page` call and never sleeps or retries.

    Spacing and retries are `ArxivFetcher`'s, done asynchronously; the package
    would do them with `time.sleep` in the worker thread and without backoff.
    """

    _session: _GuardedSession

    def __init__(self, api_url: str, timeout: float) -> None:
        super().__init__(page_size=100, delay_seconds=0.0, num_retries=0)
        self.query_url_format = _query_url_format(api_url)
        self.endpoint = _endpoint_label(api_url)
        # The package builds a plain Session (no timeout) here; there is no public way to pass ours.
        self._session.close()
        self._session = _GuardedSession(timeout)

    @property
    def session(self) -> _GuardedSession:
        return self._session

    def fetch_page(self, query: str, start: int, size: int, id_list: Sequence[str] = ()) -> _Page:
        """Results `start` .. `start + size` of the query (or of the ids), newest lastUpdatedDate first. Blocking."""
        session = self.session
        session.last_response = None
        session.requests_left = 1
        self.page_size = size
        search = arxiv.Search(
            query=query,
            id_list=list(id_list),
            max_results=start + size,  # with offset=start: exactly one page
            sort_by=arxiv.SortCriterion.LastUpdatedDate,
            sort_order=arxiv.SortOrder.Descending,
        )
        results: list[arxiv.Result] = []
        try:
            for result in self.results(search, offset=start):
                results.append(result)
        except _PageBoundary:
            pass  # a short page: the fetcher asks for the rest in its own, spaced, request
        except arxiv.HTTPError as error:
            raise _AttemptFailed(self._http_failure(error.status, session.last_response)) from None
        except requests.Timeout:
            raise _AttemptFailed(_Failure(f"no answer within {session.timeout:g} s from {self.endpoint}", True)) from None
        except requests.ConnectionError as error:
            unreachable = _no_connection(error)
            message = f"cannot connect to {self.endpoint} ({_reason(error)})"
            raise _AttemptFailed(_Failure(message, retryable=not unreachable, unreachable=unreachable)) from None
        except requests.RequestException as error:  # a dropped or garbled transfer
            raise _AttemptFailed(_Failure(f"{type(error).__name__} from {self.endpoint}", True)) from None
        except arxiv.UnexpectedEmptyPageError:
            raise _AttemptFailed(_Failure(f"an unexpectedly empty page from {self.endpoint}", True)) from None
        finally:
            session.requests_left = None
        response = session.last_response
        if response is None:  # the package made no request at all; never seen, but not worth a crash
            raise _AttemptFailed(_Failure(f"no response from {self.endpoint}", True))
        try:
            check = check_feed(response.content)
        except FeedError as error:
            raise _AttemptFailed(_Failure(str(error), retryable=False)) from None
        return _Page(results, check)

    def _http_failure(self, status: int, response: requests.Response | None) -> _Failure:
        retryable = status == 429 or 500 <= status <= 599
        retry_after = response.headers.get("Retry-After") if response is not None else None
        message = f"HTTP {status} from {self.endpoint}"
        if status == 400 and response is not None:
            # arXiv says why in an error feed (`incorrect id format for abc`); its words name the culprit.
            try:
                check_feed(response.content)
            except FeedError as error:
                message += f" ({error})"
        return _Failure(message, retryable, retry_after)


_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


def _no_connection(error: requests.ConnectionError) -> bool:
    """True when no connection was made at all: the name did not resolve, or nothing listens (refused).

    A connection reset or dropped mid-transfer is something else, and retried.
    urllib3 reports both no-connection cases as a NewConnectionError (name
    resolution is a subclass), wrapped by requests in a MaxRetryError.
    """
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        cause = pending.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, NewConnectionError):
            return True
        if isinstance(cause, BaseException):
            pending += [getattr(cause, "reason", None), cause.__cause__, cause.__context__, *cause.args[:1]]
    return False


def _reason(error: Exception) -> str:
    # requests' messages quote the whole URL and urllib3's internals; the errno text is what helps.
    found = _ERRNO.search(str(error))
    return found.group(0).strip() if found else type(error).__name__


# --- the fetcher ----------------------------------------------------------------------------


@dataclass
class _Run:
    """What one topic's fetch has done so far; a failure reports it as it stands."""

    cursor: datetime | None
    total: int | None = None
    pages: int = 0
    seen: int = 0
    upsert: UpsertReport = field(default_factory=UpsertReport)
    newest: datetime | None = None


class ArxivFetcher:
    """Fetches topics from the arXiv API into a PaperStore; see the module docstring for the rules.

    `jitter` spreads backoff waits by up to that fraction (0 in tests; None: `RETRY`'s);
    `limiter` defaults to the process-wide one.
    """

    def __init__(
        self,
        store: PaperStore,
        fetch: FetchConfig,
        api_url: str,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Sleep = asyncio.sleep,
        *,
        limiter: RequestLimiter | None = None,
        jitter: float | None = None,
    ) -> None:
        self.store = store
        self.fetch = fetch
        self.api_url = api_url
        self.clock = clock
        self._sleep = sleep
        self._limiter = limiter or PROCESS_LIMITER
        self._retry = replace(RETRY, attempts=fetch.retries + 1, first_backoff=fetch.backoff_seconds)
        if jitter is not None:
            self._retry = replace(self._retry, jitter=jitter)
        self._client = _PageClient(api_url, fetch.timeout_seconds)

    def close(self) -> None:
        self._client.session.close()

    # --- lookups: papers by id and by title, written by the caller ------------------------

    async def papers_by_id(self, ids: Sequence[str], topic: str = "") -> IdLookup:
        """The papers of versionless `ids` through the API's `id_list`, `ID_BATCH` a request, spaced
        and retried as a topic fetch. arXiv leaves out ids it does not know (`unknown`); an id it
        refuses with a 400 is `refused` with arXiv's words and the rest of its batch asked again.
        Raises ArxivFetchError (ArxivUnreachable when offline) when arXiv cannot answer."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Paper] = {}
        refused: dict[str, str] = {}
        batches = [wanted[i : i + ID_BATCH] for i in range(0, len(wanted), ID_BATCH)]
        while batches:
            batch = batches.pop(0)
            try:
                page = await self._page("", 0, len(batch), None, id_list=batch)
            except ArxivFetchError as error:
                refusal = _refusal(error.message, batch)
                if refusal is None:
                    raise
                culprit, refused[culprit] = refusal
                rest = [arxiv_id for arxiv_id in batch if arxiv_id != culprit]
                if rest:
                    batches.insert(0, rest)
                continue
            for result in page.results:
                paper = paper_from_result(result, topic)
                if paper is not None and paper.arxiv_id in batch:
                    found[paper.arxiv_id] = paper
        return IdLookup(
            papers=tuple(found[i] for i in wanted if i in found),
            unknown=tuple(i for i in wanted if i not in found and i not in refused),
            refused=tuple(refused.items()),
        )

    async def search_title(self, title: str, limit: int = TITLE_CANDIDATES) -> list[Paper]:
        """Papers whose titles hold `title`'s distinctive words (one request); [] for a title without any."""
        query = title_query(title)
        if not query:
            return []
        page = await self._page(query, 0, limit, None)
        return [paper for paper in (paper_from_result(result, "") for result in page.results) if paper is not None]

    async def fetch_topics(self, topics: Iterable[Topic], since: date | None = None) -> list[FetchReport]:
        """Fetch each topic with a query, one after another. Never raises for remote problems."""
        reports: list[FetchReport] = []
        unreachable: str | None = None
        for topic in topics:
            if not topic.query:
                log.debug("topic %s has no arXiv query; not fetched", topic.name)
                continue
            if unreachable is not None:  # said once for the run; the other topics would only fail the same way
                reports.append(
                    await self._record_failure(topic, f"arXiv fetch for topic {topic.name} not tried: {unreachable}", unreachable)
                )
                continue
            try:
                report = await self.fetch_topic(topic, since)
            except Exception as error:  # a bug or a broken store: the other topics and the scheduler go on
                log.exception("arXiv fetch for topic %s failed unexpectedly", topic.name)
                message = f"arXiv fetch for topic {topic.name} failed unexpectedly: {type(error).__name__}: {error}"
                report = FetchReport(topic.name, ok=False, error=message)
            reports.append(report)
            if report.unreachable:
                unreachable = report.unreachable
        return reports

    async def fetch_topic(self, topic: Topic, since: date | None = None) -> FetchReport:
        """Fetch one topic's window into the store; a failure is a failed report, not an exception."""
        if not topic.query:
            return FetchReport(topic.name, ok=True, skipped=True)
        async with self._limiter.exclusive():
            return await self._fetch_topic(topic, since)

    async def _fetch_topic(self, topic: Topic, since: date | None) -> FetchReport:
        started = time.monotonic()
        cursor = await read_cursor(self.store, topic.name)
        start, end = fetch_window(cursor, since, self.clock.now(), self.fetch.first_fetch_days)
        query = search_query(topic, start, end)
        run = _Run(cursor=cursor)
        log.info("fetching topic %s from arXiv (%s): updated %s to %s", topic.name, self._client.endpoint,
                 iso(start), iso(end))  # fmt: skip
        try:
            with track(f"fetch {topic.name}", log=log) as progress:
                await self._fetch_pages(topic, query, run, progress)
        except ArxivFetchError as error:
            return await self._failed(topic, run, error, start, started)
        return await self._succeeded(topic, run, start, started)

    async def _fetch_pages(self, topic: Topic, query: str, run: _Run, progress: Progress) -> None:
        limit = self.fetch.max_results
        offset = 0
        while offset < limit:
            page = await self._page(query, offset, min(self.fetch.page_size, limit - offset), run.total)
            run.pages += 1
            run.total = max(run.total or 0, page.check.total_results)
            progress.set_total(min(run.total, limit))
            if page.check.entry_count == 0:
                break  # `_page` returns an empty page only when arXiv has nothing more
            await self._store_page(topic, page, run)
            progress.advance(page.check.entry_count)
            offset += page.check.entry_count
            if offset >= run.total:
                break
        if run.total and run.total > limit:
            log.warning("topic %s: arXiv has %d papers in the window; stored the newest %d (fetch.max_results)",
                        topic.name, run.total, limit)  # fmt: skip

    async def _store_page(self, topic: Topic, page: _Page, run: _Run) -> None:
        papers, unrecognised = [], []
        for result in page.results:
            paper = paper_from_result(result, topic.name)
            if paper is None:
                unrecognised.append(result.entry_id)
                continue
            papers.append(paper)
            if run.newest is None or result.updated > run.newest:
                run.newest = result.updated
        if unrecognised:
            log.warning("topic %s: skipped %d arXiv entries with unrecognised ids (first: %r)",
                        topic.name, len(unrecognised), unrecognised[0])  # fmt: skip
        if papers:
            run.upsert += await self.store.upsert_papers(papers)  # one transaction per page, kept if a later page fails
            run.seen += len(papers)

    async def _page(self, query: str, start: int, size: int, known_total: int | None, id_list: Sequence[str] = ()) -> _Page:
        """One page, retried as the rules say; raises ArxivFetchError when it cannot be had."""
        attempts = self._retry.attempts
        failure: _Failure | None
        for attempt in range(1, attempts + 1):
            async with self._limiter.slot(self.fetch.delay_seconds, self._sleep):
                try:
                    page = await asyncio.to_thread(self._client.fetch_page, query, start, size, id_list)
                except _AttemptFailed as failed:
                    failure = failed.failure
                else:
                    failure = _empty_page_failure(page, start, known_total, self._client.endpoint)
                    if failure is None:
                        return page
            where = f"{failure.message} (page start={start})"
            if failure.unreachable:
                raise ArxivUnreachable(where, attempts=attempt)
            if not failure.retryable or not self._retry.may_retry(attempt):
                raise ArxivFetchError(where, attempts=attempt)
            wait = self._retry_wait(attempt, failure, where)
            log.info("arXiv: %s, attempt %d of %d; retrying in %.1f s", where, attempt, attempts, wait)
            await self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_wait(self, attempt: int, failure: _Failure, where: str) -> float:
        asked = parse_retry_after(failure.retry_after, self.clock.now())
        if self._retry.too_long(asked):
            raise ArxivFetchError(
                f"{where}; arXiv asked to wait {asked:.0f} s (Retry-After), longer than a fetch waits "
                f"({self._retry.max_retry_after:.0f} s)",
                attempts=attempt,
            )
        return self._retry.wait(attempt, asked)

    async def _succeeded(self, topic: Topic, run: _Run, window_start: datetime, started: float) -> FetchReport:
        cursor_after = max((c for c in (run.cursor, run.newest) if c is not None), default=None)
        if cursor_after is not None and cursor_after != run.cursor:
            await self.store.set_meta(CURSOR_KEY.format(topic=topic.name), iso(cursor_after))
        await self.store.set_meta(LAST_SUCCESS_KEY.format(topic=topic.name), iso(self.clock.now()))
        report = self._report(topic, run, window_start, started, ok=True, cursor_after=cursor_after)
        log.info("%s", report.summary())
        return report

    async def _failed(
        self, topic: Topic, run: _Run, error: ArxivFetchError, window_start: datetime, started: float
    ) -> FetchReport:
        attempts = f" after {error.attempts} attempts" if error.attempts > 1 else ""
        unreachable = isinstance(error, ArxivUnreachable)
        reason = f"arXiv is unreachable: {error.message}" if unreachable else error.message
        message = f"arXiv fetch for topic {topic.name} failed{attempts}: {reason}"
        if unreachable:
            log.warning("%s; not retrying now, the next scheduled fetch tries again", reason)
        else:
            log.error("%s; kept the %d papers already stored, cursor not moved", message, run.seen)
        await self._record_failure(topic, message)
        return self._report(topic, run, window_start, started, ok=False, cursor_after=run.cursor, error=message,
                            unreachable=reason if unreachable else None)  # fmt: skip

    async def _record_failure(self, topic: Topic, message: str, unreachable: str | None = None) -> FetchReport:
        """Keep the failure for `status`; the report for a topic that was not even tried."""
        await self.store.set_meta(LAST_ERROR_KEY.format(topic=topic.name), f"{iso(self.clock.now())} {message}")
        return FetchReport(topic.name, ok=False, error=message, unreachable=unreachable)

    def _report(
        self, topic: Topic, run: _Run, window_start: datetime, started: float, *, ok: bool,
        cursor_after: datetime | None, error: str | None = None, unreachable: str | None = None,
    ) -> FetchReport:  # fmt: skip
        return FetchReport(
            topic=topic.name,
            ok=ok,
            pages=run.pages,
            seen=run.seen,
            stored=run.upsert,
            error=error,
            cursor_before=iso(run.cursor) if run.cursor else None,
            cursor_after=iso(cursor_after) if cursor_after else None,
            duration=time.monotonic() - started,
            total=run.total,
            window_start=iso(window_start),
            unreachable=unreachable,
        )


_REFUSAL = re.compile(r"incorrect id format for (?P<id>[^\s)]+)")


def _refusal(message: str, batch: Sequence[str]) -> tuple[str, str] | None:
    """(id, arXiv's words) when arXiv's error feed names an id of `batch` as malformed."""
    found = _REFUSAL.search(message)
    return (found.group("id"), found.group(0)) if found and found.group("id") in batch else None


def _empty_page_failure(page: _Page, start: int, known_total: int | None, endpoint: str) -> _Failure | None:
    """arXiv sometimes answers a page in the middle of a result set with no entries: retry, do not stop."""
    if page.check.entry_count:
        return None
    total = max(known_total or 0, page.check.total_results)
    if start >= total:
        return None  # truly the end (or nothing at all)
    return _Failure(f"an empty page from {endpoint} although arXiv counts {total} results", retryable=True)
