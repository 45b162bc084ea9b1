"""Questions about papers, answered by the configured language model from each paper's text.

Why this module exists: `/paper ask <id> <question>` and `paperbot ask` want
an answer a reader can check: from the paper's full text (fetched on demand
for a single question when it is not stored yet, else its abstract), with
the passage it rests on (`bot.ask_prompt`), or "I don't know from this paper".

It rides on the notes writer (`bot.llm_notes.NotesWriter`): the same server,
model, retries and failure kinds, and the same daily budget, so questions
and notes together never spend more than `[notes] daily_budget` papers a
UTC day. A batch (`ask_topic`) asks every paper of a topic with
`[notes] max_concurrency` workers and stops at the budget or when the server
cannot be used; the papers not asked are listed, nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timezone

from bot.ask_prompt import (
    DONT_KNOW,
    MAX_QUESTION_CHARS,
    InvalidAnswer,
    ParsedAnswer,
    build_ask_prompt,
    correction,
    paper_text,
    parse_ask_answer,
)
from bot.errors import RemoteError, UserError
from bot.fulltext.document import FullText
from bot.fulltext.fetch import ArxivWebFailed, FullTextFetcher
from bot.llm_notes import NotesWriter, PaperFailed, ServiceFailed
from bot.models import NoticeReply, Paper
from bot.notes_prompt import FULL_TEXT, InvalidNotes
from bot.ports import FullTextStore
from bot.progress import Progress, run_summary
from bot.text import shorten

log = logging.getLogger("paperbot.ask")


class BudgetSpent(RemoteError):
    """The day's budget of papers asked about (notes and questions together) is spent."""


@dataclass(frozen=True)
class PaperAnswer:
    """One paper's answer: `known` False is "I don't know from this paper"; `basis` is full_text or abstract."""

    arxiv_id: str
    title: str
    question: str
    known: bool
    answer: str
    quote: str
    basis: str
    model: str

    def as_json(self) -> dict:
        return {
            "arxiv_id": self.arxiv_id, "title": self.title, "question": self.question, "known": self.known,
            "answer": self.answer if self.known else DONT_KNOW, "quote": self.quote or None, "basis": self.basis,
            "model": self.model,
        }  # fmt: skip


def check_question(question: str) -> str:
    question = " ".join(question.split())
    if not question:
        raise UserError(
            "Ask needs a question.", "Usage: /paper ask <id> <question>, e.g. /paper ask 2505.20665 which datasets are used?"
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise UserError(
            f"That question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}.", "Ask something shorter."
        )
    return question


def answer_reply(answer: PaperAnswer, url: str) -> NoticeReply:
    """The chat and CLI form of an answer: the question, the answer, the passage, and where it came from."""
    lines = [f"Q: {answer.question}", f"A: {answer.answer if answer.known else DONT_KNOW}"]
    if answer.known and answer.quote:
        lines.append(f"From the paper: “{answer.quote}”")
    read = "its full text" if answer.basis == FULL_TEXT else "its abstract only (no full text available)"
    lines.append(f"Answered by {answer.model} from {read}; check against the paper: {url}")
    return NoticeReply(tuple(lines), title=shorten(f"{answer.title} ({answer.arxiv_id})", 200))


class PaperAsker:
    """Answers questions about papers through the notes writer's model and budget."""

    def __init__(
        self, writer: NotesWriter, fulltext: FullTextStore | None = None, fetcher: FullTextFetcher | None = None
    ) -> None:
        self.writer = writer
        self.fulltext = fulltext
        self.fetcher = fetcher  # for a single question about a paper whose full text is not stored yet

    @property
    def model(self) -> str:
        return self.writer.config.model

    async def _full_text(self, paper: Paper, fetch: bool) -> FullText | None:
        text = await self.writer.full_text(paper)
        if text is not None or not fetch or self.fetcher is None or self.fulltext is None:
            return text
        if await self.fulltext.fulltext_failure(paper.arxiv_id) is not None:
            return None  # this version is known to have none
        try:
            return await self.fetcher.fetch_and_store(paper)
        except ArxivWebFailed as error:
            log.warning("ask: full text of %s not fetched (%s); answering from its abstract", paper.arxiv_id, error.message)
            return None

    async def ask(self, paper: Paper, question: str, *, fetch: bool = True) -> PaperAnswer:
        """One answer, counted against the daily budget; raises BudgetSpent, PaperFailed or ServiceFailed."""
        question = check_question(question)
        full_text = await self._full_text(paper, fetch)
        config = self.writer.config
        day = self.writer.clock.now().astimezone(timezone.utc).date().isoformat()
        store = self.writer.store
        if not await store.take_notes_budget(day, config.daily_budget):
            raise BudgetSpent(f"the daily budget of {config.daily_budget} papers (notes and questions) is spent (UTC day {day})")
        try:
            prompt = build_ask_prompt(paper, question, full_text, max_input_tokens=config.max_input_tokens)
            parsed = await self._answer(prompt.messages, paper_text(paper, full_text))
        except ServiceFailed as error:
            if not error.reached_model:
                await store.return_notes_budget(day)
            raise
        return PaperAnswer(
            paper.arxiv_id, paper.title, question, parsed.known, parsed.answer, parsed.quote, prompt.basis, self.model
        )

    async def _answer(self, messages: list[dict[str, str]], source: str) -> ParsedAnswer:
        answer = await self.writer.complete(messages)
        try:
            return parse_ask_answer(answer, source)
        except InvalidNotes as first:
            messages = [*messages, {"role": "assistant", "content": answer or ""}, correction(first)]
            answer = await self.writer.complete(messages)
            try:
                return parse_ask_answer(answer, source)
            except InvalidNotes as second:
                reasons = str(first) if str(first) == str(second) else f"{first}; then {second}"
                raise PaperFailed(f"unusable answer twice ({reasons})") from None

    async def ask_topic(self, papers: list[Paper], question: str, progress: Progress | None = None) -> AskRunReport:
        """Ask every paper (from stored text only), `[notes] max_concurrency` at a time, within the budget."""
        question = check_question(question)
        report = AskRunReport(question, self.model, papers)
        queue = iter(papers)
        if progress is not None:
            progress.set_total(len(papers))

        async def worker() -> None:
            while report.stopped is None:
                paper = next(queue, None)
                if paper is None:
                    return
                try:
                    report.answers[paper.arxiv_id] = await self.ask(paper, question, fetch=False)
                except (BudgetSpent, ServiceFailed) as error:
                    report.stopped = report.stopped or error.message
                    return
                except (PaperFailed, InvalidAnswer) as error:
                    report.failed[paper.arxiv_id] = str(error)
                if progress is not None:
                    progress.advance()
                    progress.note(f"{len(report.answers)} answered, {len(report.failed)} failed")

        await asyncio.gather(*(worker() for _ in range(min(self.writer.config.max_concurrency, len(papers)))))
        if report.stopped:
            log.warning("ask: stopped: %s; %d paper(s) not asked", report.stopped, len(report.not_asked))
        return report


@dataclass
class AskRunReport:
    """A batch question's outcome, paper by paper, in the topic's order."""

    question: str
    model: str
    papers: list[Paper]
    answers: dict[str, PaperAnswer] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    stopped: str | None = None

    @property
    def not_asked(self) -> list[Paper]:
        return [p for p in self.papers if p.arxiv_id not in self.answers and p.arxiv_id not in self.failed]

    @property
    def ok(self) -> bool:
        return not self.failed and self.stopped is None

    def summary(self) -> str:
        known = sum(1 for a in self.answers.values() if a.known)
        parts = [f'{len(self.answers)} answered ({known} from the paper, {len(self.answers) - known} "I don\'t know")']
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.not_asked:
            parts.append(f"{len(self.not_asked)} not asked")
        return run_summary(f"ask ({self.model}): {len(self.papers)} papers", parts, self.stopped)

    def markdown(self, topic: str, date: str) -> str:
        """One report: the question, then an answer per paper (newest first), then what was not answered."""
        out = [f"# {self.question}", "", f"Topic `{topic}` · {len(self.papers)} papers · answered by {self.model} · {date}", ""]
        from_abstract = 0
        for number, paper in enumerate(self.papers, 1):
            answer = self.answers.get(paper.arxiv_id)
            out += [f"## {number}. {paper.title} ([{paper.arxiv_id}]({paper.url}))", ""]
            if answer is None:
                reason = self.failed.get(paper.arxiv_id) or f"not asked ({self.stopped or 'stopped'})"
                out += [f"_No answer: {reason}_", ""]
                continue
            out += [answer.answer if answer.known else f"_{DONT_KNOW}_", ""]
            if answer.known and answer.quote:
                out += [f"> {answer.quote}", ""]
            if answer.basis != FULL_TEXT:
                from_abstract += 1
                out += ["_From the abstract only: no full text stored._", ""]
        if from_abstract:
            out += [
                "---",
                "",
                f"{from_abstract} answer(s) rest on the abstract alone; "
                f"`paperbot fulltext --topic {topic}` fetches the full text.",
                "",
            ]
        return "\n".join(out)
