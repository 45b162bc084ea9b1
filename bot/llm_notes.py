"""Machine-written notes: ask an OpenAI-compatible chat-completions server for each paper's five sections.

Papers fetched from arXiv have only an abstract; paper lists come with a
group's notes. When `[notes]` is enabled, `NotesWriter.run` takes the papers
without usable notes in the configured language (never-tried ones newest
first, then earlier failures), asks the model for the sections as JSON
(`bot.notes_prompt`), asks once more with the validation error when the
answer is unusable, and stores the result beside any imported notes with
its provenance (`source = "llm"`, the model, the time), never in their place.

When the paper's full text is stored (`paperbot fulltext`, or `run` after a
fetch), the prompt carries it, cut section by section to
`[notes] max_input_tokens`, and the notes say so (`basis = "full_text"`);
else they are written from the abstract (`basis = "abstract"`).

A failure never costs a paper anything: it keeps its extractive TLDR, is
logged once, and stays a candidate for a later run. Two kinds:

- `PaperFailed`: this paper's answer was unusable twice, or the model
  refused. Recorded in the store; the run goes on with the next paper.
- `ServiceFailed`: the server is unusable for now (down, 5xx, timeouts,
  rate-limited for longer than we wait, key or model refused). The run
  stops: the next paper would fail the same way, and hammering an
  overloaded server makes it worse. The papers keep their place.

Retries of one request (429, 5xx, timeouts, connection errors) are done here,
by the one policy of `bot.retry`, not by the openai client (`max_retries=0`):
a 429's Retry-After is honoured up to `RETRY.max_retry_after` whatever the
client version would do (some versions ignore long ones and retry sooner),
and waits go through an injectable `sleep`, so tests see them without waiting.

The daily budget counts papers asked about per UTC day, taken before the
request and given back when the request never reached a model (connection
refused, 429, 5xx). Concurrency is bounded by `max_concurrency` workers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field, replace
from datetime import timezone
from typing import Any, Awaitable, Callable, Mapping

import openai
from openai import AsyncOpenAI

from bot.config import NotesConfig
from bot.errors import RemoteError, UnreadableText, UserError
from bot.fulltext.document import FullText
from bot.models import Notes, Paper
from bot.notes_prompt import InvalidNotes, build_prompt, correction_message, parse_notes_answer
from bot.ports import Clock, FullTextStore, NotesStore, SystemClock
from bot.progress import Progress, run_summary
from bot.retry import RetryPolicy, retry_after_seconds
from bot.utc import iso

log = logging.getLogger("paperbot.notes")

SOURCE = "llm"
# A server asking for a longer pause than `max_retry_after` is retried on the next run;
# the number of retries is the config's (`[notes] max_retries`).
RETRY = RetryPolicy(first_backoff=1.0, max_backoff=30.0, max_retry_after=300.0)
MAX_ERROR_CHARS = 300

Sleep = Callable[[float], Awaitable[None]]


class PaperFailed(RemoteError):
    """No usable notes for this paper this time; other papers may still work."""


class ServiceFailed(RemoteError):
    """The notes server cannot be used for now; `reached_model` says whether the model did any work."""

    def __init__(self, message: str, *, reached_model: bool) -> None:
        super().__init__(message)
        self.reached_model = reached_model


class _NotACompletion(ValueError):
    """A 200 response the client parsed into something other than a chat completion."""


def client_from_env(config: NotesConfig, env: Mapping[str, str]) -> AsyncOpenAI:
    """An AsyncOpenAI client for OPENAI_BASE_URL / OPENAI_API_KEY; UserError when they cannot work."""
    base_url = (env.get("OPENAI_BASE_URL") or "").strip() or None
    api_key = (env.get("OPENAI_API_KEY") or "").strip()
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise UserError("OPENAI_BASE_URL must be an http:// or https:// URL, like http://127.0.0.1:8000/v1")
    if not api_key:
        if base_url is None:
            raise UserError(
                "machine-written notes need OPENAI_API_KEY in the environment, "
                "or OPENAI_BASE_URL for a local server (vLLM, llama.cpp, Ollama)"
            )
        api_key = "not-needed"  # local servers accept any key, but the client insists on one
    return AsyncOpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=config.timeout_seconds)


@dataclass
class NotesRunReport:
    """What one run did: papers written, papers that failed (and why), and why it stopped early, if it did."""

    lang: str
    model: str
    candidates: int = 0
    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None
    stopped_by_failure: bool = False

    @property
    def left(self) -> int:
        return self.candidates - len(self.written) - len(self.failed)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.stopped_by_failure

    def stop(self, reason: str, *, failure: bool) -> bool:
        """Record the first reason to stop; True if this call was the first."""
        if self.stopped is not None:
            return False
        self.stopped, self.stopped_by_failure = reason, failure
        return True

    def summary(self) -> str:
        head = f"notes ({self.lang}, {self.model})"
        if not self.candidates:
            return f"{head}: no paper needs notes"
        parts = [f"{len(self.written)} written"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed (kept their extractive TLDR; retried on a later run)")
        if self.left:
            # Only this run's candidates were counted: a stopped run may leave more than that.
            parts.append(f"{'at least ' if self.stopped else ''}{self.left} left for a later run")
        return run_summary(head, parts, self.stopped)


@dataclass(eq=False)
class NotesWriter:
    """Writes machine notes for the papers that lack them; see the module docstring for the rules."""

    store: NotesStore
    client: AsyncOpenAI
    config: NotesConfig
    clock: Clock = field(default_factory=SystemClock, kw_only=True)
    sleep: Sleep = field(default=asyncio.sleep, kw_only=True)
    fulltext: FullTextStore | None = field(default=None, kw_only=True)

    @property
    def retry(self) -> RetryPolicy:
        return replace(RETRY, attempts=self.config.max_retries + 1)

    async def close(self) -> None:
        await self.client.close()

    async def run(self, topic: str | None = None, limit: int | None = None, progress: Progress | None = None) -> NotesRunReport:
        """One pass over the papers needing notes (at most `limit`, and never past the daily budget)."""
        config = self.config
        # Without a limit, one more than the budget: a run the budget cuts short then says so.
        wanted = limit if limit is not None else config.daily_budget + 1
        papers = await self.store.papers_needing_notes(config.language, topic, wanted)
        report = NotesRunReport(config.language, config.model, candidates=len(papers))
        if progress is not None:
            progress.set_total(len(papers))
        queue = iter(papers)

        async def worker() -> None:
            while report.stopped is None:
                paper = next(queue, None)
                if paper is None:
                    return
                await self._one(paper, report)
                if progress is not None:
                    progress.advance()
                    progress.note(f"{len(report.written)} written, {len(report.failed)} failed")

        await asyncio.gather(*(worker() for _ in range(min(config.max_concurrency, len(papers)))))
        if report.stopped is not None:
            level = logging.WARNING if report.stopped_by_failure else logging.INFO
            log.log(level, "notes: stopped this run: %s; at least %d paper(s) left for a later run", report.stopped, report.left)
        return report

    async def _one(self, paper: Paper, report: NotesRunReport) -> None:
        lang = self.config.language
        day = self.clock.now().astimezone(timezone.utc).date().isoformat()
        if not await self.store.take_notes_budget(day, self.config.daily_budget):
            report.stop(f"the daily budget of {self.config.daily_budget} papers is spent (UTC day {day})", failure=False)
            return
        try:
            notes = await self.write_notes(paper)
        except ServiceFailed as error:
            if not error.reached_model:
                await self.store.return_notes_budget(day)
            # Not the paper's fault: it keeps its place among the never-tried papers.
            report.stop(str(error), failure=True)
        except PaperFailed as error:
            reason = str(error)
            report.failed[paper.arxiv_id] = reason
            await self.store.record_notes_failure(paper.arxiv_id, lang, reason, self._now())
            log.warning(
                "notes for %s failed: %s; it keeps its extractive TLDR and is retried on a later run",
                paper.arxiv_id, reason,
            )
        else:
            await self.store.add_notes(paper.arxiv_id, notes)
            report.written.append(paper.arxiv_id)
            log.debug("notes for %s written by %s", paper.arxiv_id, self.config.model)

    async def full_text(self, paper: Paper) -> FullText | None:
        """The paper's stored full text, if any (a damaged row is logged and read as none)."""
        if self.fulltext is None:
            return None
        try:
            return await self.fulltext.fulltext(paper.arxiv_id)
        except UnreadableText as error:
            log.warning("full text of %s cannot be read (%s); using its abstract", paper.arxiv_id, error)
            return None

    async def write_notes(self, paper: Paper) -> Notes:
        """Ask for the notes, validate, ask once more with the validation error; raise PaperFailed or ServiceFailed."""
        lang = self.config.language
        config = self.config
        prompt = build_prompt(
            paper, lang, await self.full_text(paper), max_input_tokens=config.max_input_tokens, template=config.prompt_template
        )
        messages = prompt.messages
        answer = await self.complete(messages)
        try:
            sections: dict[str, Any] = parse_notes_answer(answer, lang)  # Notes' five text fields by name
        except InvalidNotes as first:
            log.debug("notes for %s: unusable answer (%s); asking once more", paper.arxiv_id, first)
            messages = [*messages, {"role": "assistant", "content": answer or ""}, correction_message(first, lang)]
            answer = await self.complete(messages)
            try:
                sections = parse_notes_answer(answer, lang)
            except InvalidNotes as second:
                reasons = str(first) if str(first) == str(second) else f"{first}; then {second}"
                raise PaperFailed(f"unusable answer twice ({reasons})") from None
        return Notes(lang=lang, **sections, source=SOURCE, origin=self.config.model, created_at=self._now(), basis=prompt.basis)

    async def complete(self, messages: list[dict[str, str]]) -> str | None:
        """One chat completion's text, with retries for transient failures."""
        request: dict[str, Any] = {"model": self.config.model, "messages": messages}
        if self.config.json_mode:
            request["response_format"] = {"type": "json_object"}
        attempt = 1
        while True:
            try:
                completion = await self.client.chat.completions.create(**request)
                if not isinstance(getattr(completion, "choices", None), list):
                    raise _NotACompletion("not a chat completion")
            except (openai.APIError, ValueError) as error:  # ValueError: a 200 whose body is not JSON
                failure, wait = self._transient(error, attempt)
                if not self.retry.may_retry(attempt):
                    raise failure from None
                log.debug("notes server: %s; retrying in %.1f s", failure, wait)
                await self.sleep(wait)
                attempt += 1
                continue
            return _answer_text(completion)

    def _transient(self, error: Exception, attempt: int) -> tuple[ServiceFailed, float]:
        """What went wrong and how long to wait before retrying; raises ServiceFailed when a retry cannot help."""
        backoff = self.retry.backoff(attempt)
        if isinstance(error, openai.APITimeoutError):
            return ServiceFailed(f"no answer within {self.config.timeout_seconds:g} s", reached_model=True), backoff
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__ or error
            return ServiceFailed(
                f"cannot reach the notes server ({self._detail(str(cause) or type(cause).__name__)})", reached_model=False
            ), backoff
        if isinstance(error, openai.APIStatusError):
            status = error.status_code
            detail = self._detail(_status_message(error))
            if status == 429:
                asked = retry_after_seconds(error.response.headers, self.clock.now())
                if self.retry.too_long(asked):
                    raise ServiceFailed(
                        f"rate limited (HTTP 429); the server asks to wait {asked:.0f} s", reached_model=False
                    ) from None
                return ServiceFailed(f"rate limited (HTTP 429: {detail})", reached_model=False), self.retry.wait(attempt, asked)
            if status >= 500 or status == 408:
                return ServiceFailed(f"server error (HTTP {status}: {detail})", reached_model=False), backoff
            hint = ""
            if status == 400 and self.config.json_mode:
                hint = "; if the server does not support JSON mode, set json_mode = false in [notes]"
            elif status in (401, 403):
                hint = "; check OPENAI_API_KEY"
            elif status == 404:
                hint = f"; check OPENAI_BASE_URL and that the server has model {self.config.model!r}"
            raise ServiceFailed(f"the server refused the request (HTTP {status}: {detail}){hint}", reached_model=False) from None
        # A 200 that is no completion (HTML from a proxy, broken JSON): not the server we expected.
        reason = (
            str(error)
            if isinstance(error, _NotACompletion)
            else "the body is not JSON"
            if isinstance(error, ValueError)
            else self._detail(str(error))
        )
        return ServiceFailed(f"unexpected response from the notes server ({reason})", reached_model=False), backoff

    def _detail(self, text: str) -> str:
        """Server text fit for a log line and the CLI's output: short, and without our key
        (some servers echo it in a 401; the CLI prints reasons outside the logging filter)."""
        key = getattr(self.client, "api_key", None)
        if isinstance(key, str) and len(key) >= 6:
            text = text.replace(key, "***")
        return _short(text)

    def _now(self) -> str:
        return iso(self.clock.now())


def _status_message(error: openai.APIStatusError) -> str:
    """The server's own words: `error.message` of an `{"error": {...}}` body (client versions differ
    in what they put in `error.message` itself)."""
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str) and inner["message"].strip():
            return inner["message"]
    return str(error.message).removeprefix(f"Error code: {error.status_code} - ") or f"HTTP {error.status_code}"


def _answer_text(completion: Any) -> str | None:
    """The answer's text; PaperFailed for a refusal, None for an answer without text."""
    choices = getattr(completion, "choices", None)
    if not choices:
        return None
    choice = choices[0]
    message = getattr(choice, "message", None)
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise PaperFailed(f"the model refused: {_short(refusal)}")
    if getattr(choice, "finish_reason", None) == "content_filter":
        raise PaperFailed("the model refused (its content filter stopped the answer)")
    content = getattr(message, "content", None)
    return content if isinstance(content, str) else None


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
