"""Fetching papers' full text from arXiv: the HTML rendering first, else the PDF; politely.

Why this module exists: the notes writer, `/paper ask` and the key figure
need a paper's body, and arXiv asks robots to be gentle. The rules:

- Where: `ARXIV_WEB_URL` (default https://arxiv.org), `/html/<id>v<n>`
  (LaTeXML, `bot.fulltext.html`), else `/pdf/<id>v<n>` (`bot.fulltext.pdf`).
  The stored version is the one asked for, so a new version is fetched anew.
- Politeness: one request at a time in the whole process, the starts at
  least `[fulltext] delay_seconds` apart, shared with the API fetcher
  (`bot.ingest.arxiv.PROCESS_LIMITER`); waits go through an injectable sleep.
- Failures of a request (429, 5xx, 408, timeouts, a download cut short) are
  retried by `bot.retry`'s policy, waiting at least what Retry-After asks;
  a Retry-After longer than `RETRY.max_retry_after`, the last retry failing,
  or arXiv unreachable stop the run (`ArxivWebFailed`): the papers keep their
  place for the next run.
- Failures of a paper (neither HTML nor PDF, a file over `[fulltext] max_mb`,
  an unreadable or truncated PDF) are `FullTextUnavailable`: logged once,
  recorded for that version, not tried again until a new version appears.
- Size: the body is streamed and reading stops once it passes the cap (a
  Content-Length over it is refused before reading); every request has a
  timeout (`[fulltext] timeout_seconds`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

import aiohttp

from bot.config import DEFAULT_ARXIV_WEB_URL, ConfigError, FullTextConfig
from bot.errors import RemoteError
from bot.fulltext import html as html_text
from bot.fulltext import pdf as pdf_text
from bot.fulltext.document import FullText
from bot.ingest.arxiv import PROCESS_LIMITER, RequestLimiter
from bot.models import Paper
from bot.ports import Clock, FullTextStore, SystemClock
from bot.progress import Progress, run_summary
from bot.retry import RetryPolicy, retry_after_seconds
from bot.utc import iso

log = logging.getLogger("paperbot.fulltext")

# Attempts are the config's (`[fulltext] retries`); a longer Retry-After means "not now": the next run tries.
RETRY = RetryPolicy(first_backoff=5.0, max_backoff=120.0, max_retry_after=600.0, jitter=0.1)
CHUNK_BYTES = 64 * 1024
USER_AGENT = "paperbot (research-paper digests; one request at a time)"
MB = 1024 * 1024

Sleep = Callable[[float], Awaitable[None]]


class FullTextUnavailable(RemoteError):
    """This version of this paper has no usable full text (recorded; tried again for a new version)."""


class ArxivWebFailed(RemoteError):
    """arXiv's web server cannot be used for now (down, rate-limiting us, unreachable): stop, try next run."""


class _TooLarge(FullTextUnavailable):
    pass


@dataclass(frozen=True)
class _Retry:
    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class _Body:
    data: bytes
    url: str


def resolve_web_url(env: Mapping[str, str]) -> str:
    """arXiv's web server: ARXIV_WEB_URL from the environment, or https://arxiv.org."""
    url = (env.get("ARXIV_WEB_URL") or "").strip().rstrip("/")
    if not url:
        return DEFAULT_ARXIV_WEB_URL
    if not re.match(r"^https?://[^/\s?#]+", url):
        raise ConfigError("environment", "ARXIV_WEB_URL", "must be an http:// or https:// URL, like https://arxiv.org")
    return url


@dataclass
class FullTextReport:
    """What one run did: papers stored (with their source), papers without full text (and why), why it stopped."""

    candidates: int = 0
    stored: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None

    @property
    def left(self) -> int:
        return self.candidates - len(self.stored) - len(self.unavailable)

    @property
    def ok(self) -> bool:
        return self.stopped is None

    def summary(self) -> str:
        if not self.candidates:
            return "full text: no paper needs it"
        sources = {source: list(self.stored.values()).count(source) for source in ("html", "pdf")}
        parts = [f"{len(self.stored)} stored ({sources['html']} from HTML, {sources['pdf']} from PDF)"]
        if self.unavailable:
            parts.append(f"{len(self.unavailable)} without full text (notes use their abstract)")
        if self.left:
            parts.append(f"{self.left} left for a later run")
        return run_summary("full text", parts, self.stopped)


class FullTextFetcher:
    """Fetches, extracts and stores papers' full text; see the module docstring for the rules."""

    def __init__(
        self,
        store: FullTextStore,
        config: FullTextConfig,
        web_url: str = DEFAULT_ARXIV_WEB_URL,
        *,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        limiter: RequestLimiter = PROCESS_LIMITER,
    ) -> None:
        self.store = store
        self.config = config
        self.web_url = web_url.rstrip("/")
        self.clock = clock or SystemClock()
        self.sleep = sleep
        self.limiter = limiter
        self.retry = replace(RETRY, attempts=config.retries + 1)
        self.cap = int(config.max_mb * MB)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- runs ---------------------------------------------------------------------------

    async def run(self, topic: str | None = None, limit: int | None = None, progress: Progress | None = None) -> FullTextReport:
        """Fetch the papers that need full text (newest first, at most `limit` or `[fulltext] max_per_run`)."""
        papers = await self.store.papers_needing_fulltext(topic, limit if limit is not None else self.config.max_per_run)
        report = FullTextReport(candidates=len(papers))
        if progress is not None:
            progress.set_total(len(papers))
        for paper in papers:
            try:
                text = await self.fetch_and_store(paper)
            except ArxivWebFailed as error:
                report.stopped = error.message
                log.warning("full text: stopped this run: %s; %d paper(s) left for a later run", error.message, report.left)
                break
            if text is not None:
                report.stored[paper.arxiv_id] = text.source
            else:
                report.unavailable[paper.arxiv_id] = await self.store.fulltext_failure(paper.arxiv_id) or "unavailable"
            if progress is not None:
                progress.advance()
                progress.note(f"{len(report.stored)} stored, {len(report.unavailable)} without")
        return report

    async def fetch_and_store(self, paper: Paper) -> FullText | None:
        """Fetch and store one paper's full text; None (recorded, logged) when this version has none.
        Raises ArxivWebFailed when arXiv cannot be used now (nothing recorded)."""
        try:
            text = await self.fetch(paper)
        except FullTextUnavailable as error:
            log.warning("full text of %sv%d: %s", paper.arxiv_id, paper.version, error.message)
            await self.store.record_fulltext_failure(paper.arxiv_id, paper.version, error.message, iso(self.clock.now()))
            return None
        await self.store.save_fulltext(text)
        log.debug("full text of %sv%d stored from %s (%d characters)", paper.arxiv_id, paper.version, text.source, text.chars)
        return text

    async def fetch(self, paper: Paper) -> FullText:
        """The paper's full text from its HTML rendering, else its PDF; raises FullTextUnavailable or ArxivWebFailed."""
        ref = f"{paper.arxiv_id}v{paper.version}"
        reasons = []
        try:
            page = await self._get(f"{self.web_url}/html/{ref}", "HTML")
        except _TooLarge as error:
            page, reasons = None, [error.message]
        if page is not None:
            try:
                sections, figure = await asyncio.to_thread(html_text.extract, page.data, page.url)
            except html_text.NotLatexml as error:
                reasons.append(f"its HTML page is no paper rendering ({error})")
            else:
                return FullText(paper.arxiv_id, paper.version, "html", sections, figure, iso(self.clock.now()))
        elif not reasons:
            reasons.append("arXiv has no HTML rendering")
        document = await self._get(f"{self.web_url}/pdf/{ref}", "PDF")
        if document is None:
            raise FullTextUnavailable(f"{'; '.join(reasons)}, and no PDF (HTTP 404)")
        try:
            sections = await asyncio.to_thread(pdf_text.extract_sections, document.data)
        except pdf_text.UnreadablePdf as error:
            raise FullTextUnavailable(str(error)) from None
        return FullText(paper.arxiv_id, paper.version, "pdf", sections, None, iso(self.clock.now()))

    # --- one document -------------------------------------------------------------------

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        return self._session

    async def _get(self, url: str, what: str) -> _Body | None:
        """The document's bytes; None when arXiv has none (404, 410). Retries by the policy."""
        attempt = 1
        while True:
            async with self.limiter.slot(self.config.delay_seconds, self.sleep):
                outcome = await self._attempt(url, what)
            if not isinstance(outcome, _Retry):
                return outcome
            if self.retry.too_long(outcome.retry_after):
                raise ArxivWebFailed(f"arXiv asks to wait {outcome.retry_after:.0f} s ({outcome.reason})")
            if not self.retry.may_retry(attempt):
                tries = f"{attempt} attempt{'s' if attempt != 1 else ''}"
                raise ArxivWebFailed(f"{outcome.reason} for {_where(url)}, after {tries}")
            wait = self.retry.wait(attempt, outcome.retry_after)
            log.debug("full text: %s for %s; retrying in %.1f s", outcome.reason, _where(url), wait)
            await self.sleep(wait)
            attempt += 1

    async def _attempt(self, url: str, what: str) -> _Body | _Retry | None:
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_seconds)
        try:
            async with self._session_now().get(url, timeout=timeout) as response:
                status = response.status
                if status in (404, 410):
                    return None
                if status == 429 or status == 408 or status >= 500:
                    return _Retry(f"HTTP {status}", retry_after_seconds(response.headers, self.clock.now()))
                if status >= 400:
                    raise FullTextUnavailable(f"arXiv refused the {what} (HTTP {status})")
                length = response.content_length
                if length is not None and length > self.cap:
                    raise _TooLarge(f"the {what} is {length / MB:.1f} MB, over {self._cap_words}; skipped")
                chunks, size = [], 0
                async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                    size += len(chunk)
                    if size > self.cap:
                        raise _TooLarge(f"the {what} passed {self._cap_words} while downloading; skipped")
                    chunks.append(chunk)
                return _Body(b"".join(chunks), str(response.url))
        except asyncio.TimeoutError:
            return _Retry(f"no answer within {self.config.timeout_seconds:g} s")
        except aiohttp.ClientConnectorError as error:
            raise ArxivWebFailed(f"cannot reach {_where(url)} ({error.os_error.strerror or error.os_error})") from None
        except aiohttp.ClientPayloadError:
            return _Retry("the download was cut short")
        except aiohttp.ClientError as error:
            return _Retry(f"connection problem ({type(error).__name__})")

    @property
    def _cap_words(self) -> str:
        return f"the {self.config.max_mb:g} MB cap ([fulltext] max_mb)"


def _where(url: str) -> str:
    """host[:port]/path: where a failure came from, without a query."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"
