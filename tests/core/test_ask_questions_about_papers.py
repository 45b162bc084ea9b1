"""Questions about papers: `/paper ask` through the command router, and a topic's batch report.

The real `openai` client talks to tests/support/fake_openai.py, which answers a question
like a careful model (it quotes the paper sentence that matches it), or as scripted.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from bot.ask import PaperAsker
from bot.ask_prompt import find_passage
from bot.commands import CommandRouter
from bot.config import FullTextConfig, NotesConfig
from bot.fulltext.document import FullText, Section
from bot.fulltext.fetch import FullTextFetcher
from bot.ingest.arxiv import RequestLimiter
from bot.llm_notes import NotesWriter, client_from_env
from bot.service import PaperService
from tests.support import FakeClock, make_paper
from tests.support.fake_arxiv_web import FakeArxivWeb, Sec, latexml_page

NOW = datetime(2025, 6, 9, 8, 30, tzinfo=timezone.utc)
pytestmark = pytest.mark.now(NOW)
BODY_ONLY = "The critic is trained on 40,000 annotated reasoning chains from GeoQA."


@pytest.fixture
async def store(store):
    """The shared store (tests/conftest.py), on NOW, with three reward-vlm papers."""
    await store.papers.upsert_papers(
        [make_paper(f"2506.0000{i}", ("reward-vlm",), published=f"2025-06-0{i}") for i in (1, 2, 3)]
    )
    return store


async def no_wait(seconds: float) -> None:
    return None


def asker_for(store, fake_openai, *, fetcher=None, **settings) -> PaperAsker:
    config = NotesConfig(**({"enabled": True, "model": "fake-notes-1"} | settings))
    client = client_from_env(config, {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "sk-test"})
    writer = NotesWriter(store.notes, client, config, clock=FakeClock(NOW), sleep=no_wait, fulltext=store.fulltext)
    return PaperAsker(writer, store.fulltext, fetcher)


def stored(arxiv_id: str) -> FullText:
    return FullText(arxiv_id, 1, "html", (
        Section("1 Introduction", "Reward models judge answers."),
        Section("2 Method", BODY_ONLY),
        Section("3 Experiments", "Accuracy improves by 4.1 points on MathVista."),
    ))  # fmt: skip


def router_for(store, asker) -> CommandRouter:
    return CommandRouter(PaperService(store.papers, fulltext=store.fulltext), asker=asker)


async def test_an_answer_quotes_the_passage_of_the_full_text_it_rests_on(store, fake_openai):
    await store.fulltext.save_fulltext(stored("2506.00001"))
    asker = asker_for(store, fake_openai)
    try:
        reply = (
            await router_for(store, asker).answer_text("ask 2506.00001 how many annotated reasoning chains train the critic?")
        ).reply
    finally:
        await asker.writer.close()
    assert reply.title.endswith("(2506.00001)")
    assert reply.lines[0] == "Q: how many annotated reasoning chains train the critic?"
    assert reply.lines[1] == f"A: According to the paper: {BODY_ONLY}"
    assert reply.lines[2] == f"From the paper: “{BODY_ONLY}”"
    assert reply.lines[3].startswith(
        "Answered by fake-notes-1 from its full text; check against the paper: https://arxiv.org/abs/2506.00001"
    )
    assert BODY_ONLY in fake_openai.requests[0].messages[1]["content"]
    assert await store.notes.notes_budget_spent("2025-06-09") == 1  # the notes' daily budget


async def test_when_the_text_does_not_say_the_answer_is_i_dont_know(store, fake_openai):
    asker = asker_for(store, fake_openai)
    try:
        reply = (await router_for(store, asker).answer_text("ask 2506.00002 what hardware did they use?")).reply
    finally:
        await asker.writer.close()
    assert reply.lines[1] == "A: I don't know from this paper."
    assert reply.lines[2].startswith("Answered by fake-notes-1 from its abstract only (no full text available)")


async def test_a_quote_not_in_the_paper_is_sent_back_once_then_the_question_fails(store, fake_openai):
    invented = {"known": True, "answer": "They used 8 GPUs.", "quote": "We train on 8 A100 GPUs for a week."}
    fake_openai.answer(invented, times=2)
    asker = asker_for(store, fake_openai)
    try:
        reply = (await router_for(store, asker).answer_text("ask 2506.00002 what hardware did they use?")).reply
    finally:
        await asker.writer.close()
    assert reply.message == (
        "No usable answer about 2506.00002: unusable answer twice "
        "(the quote is not in the paper's text; copy a passage word for word)."
    )
    assert "copied word for word" in fake_openai.requests[1].messages[-1]["content"]


def test_a_paraphrased_quote_becomes_the_papers_own_sentence():
    source = "Reward models judge answers. The critic is trained on 40,000 annotated chains. It works."
    assert (
        find_passage("the critic is trained on 40,000 annotated chains", source)
        == "the critic is trained on 40,000 annotated chains"
    )
    assert (
        find_passage("The critic was trained on 40,000 annotated chains", source)
        == "The critic is trained on 40,000 annotated chains."
    )
    assert find_passage("Reward models judge … annotated chains", source) == "Reward models judge … annotated chains"
    assert find_passage("GPUs were used for a week of training", source) is None


async def test_the_daily_budget_is_shared_with_notes_and_says_so(store, fake_openai):
    asker = asker_for(store, fake_openai, daily_budget=1)
    await store.notes.take_notes_budget("2025-06-09", 1)  # a note took today's only paper
    try:
        reply = (await router_for(store, asker).answer_text("ask 2506.00001 what is the critic trained on?")).reply
    finally:
        await asker.writer.close()
    assert reply.message == "No answer now: the daily budget of 1 papers (notes and questions) is spent (UTC day 2025-06-09)."
    assert fake_openai.requests == []


async def test_the_model_being_down_is_a_clear_message_and_costs_no_budget(store, fake_openai):
    fake_openai.fail(503, times=5)
    asker = asker_for(store, fake_openai, max_retries=1)
    try:
        reply = (await router_for(store, asker).answer_text("ask 2506.00001 what is the critic trained on?")).reply
    finally:
        await asker.writer.close()
    assert reply.message.startswith("No answer now: the language model cannot be reached (server error (HTTP 503")
    assert await store.notes.notes_budget_spent("2025-06-09") == 0


async def test_without_a_model_ask_says_who_can_set_it_up(store):
    reply = (await router_for(store, None).answer_text("ask 2506.00001 anything?")).reply
    assert reply.message == "Questions need the language model, and this bot has none set up."
    missing = (await router_for(store, None).answer_text("ask 2506.00001")).reply
    assert missing.message == "Ask needs a question." and missing.hint.startswith("Usage: /paper ask <id> <question>")
    unknown = (await router_for(store, None).answer_text("ask 2999.99999 anything?")).reply
    assert unknown.message == "Paper 2999.99999 is not in the store."


async def test_a_single_question_fetches_the_full_text_it_lacks(store, fake_openai):
    with FakeArxivWeb() as web:
        web.add_html("2506.00003v1", latexml_page("T", "We propose it.", [Sec("Method", [BODY_ONLY])], ref="2506.00003v1"))
        fetcher = FullTextFetcher(store.fulltext, FullTextConfig(), web.url, sleep=no_wait, limiter=RequestLimiter())
        asker = asker_for(store, fake_openai, fetcher=fetcher)
        try:
            answer = await asker.ask(
                await store.papers.get("2506.00003"), "how many annotated reasoning chains train the critic?"
            )
        finally:
            await asker.writer.close()
            await fetcher.close()
    assert answer.basis == "full_text" and answer.quote == BODY_ONLY
    assert (await store.fulltext.fulltext("2506.00003")).source == "html"


async def test_a_topic_batch_answers_every_paper_in_order_within_the_budget(store, fake_openai):
    await store.fulltext.save_fulltext(stored("2506.00003"))
    asker = asker_for(store, fake_openai, daily_budget=2, max_concurrency=2)
    papers = await store.papers.latest("reward-vlm", 3)
    try:
        report = await asker.ask_topic(papers, "how many annotated reasoning chains train the critic?")
    finally:
        await asker.writer.close()
    assert list(report.answers) != [] and len(report.answers) == 2 and [p.arxiv_id for p in report.not_asked] == ["2506.00001"]
    assert report.stopped == "the daily budget of 2 papers (notes and questions) is spent (UTC day 2025-06-09)"
    assert report.summary().endswith(f", 1 not asked; stopped: {report.stopped}")
    text = report.markdown("reward-vlm", "2025-06-09")
    assert text.startswith("# how many annotated reasoning chains train the critic?\n\nTopic `reward-vlm` · 3 papers")
    assert text.index("2506.00003") < text.index("2506.00002") < text.index("2506.00001")
    assert f"> {BODY_ONLY}" in text and "_I don't know from this paper._" in text
    assert "_No answer: not asked (the daily budget of 2 papers" in text
    assert "`paperbot fulltext --topic reward-vlm` fetches the full text" in text
    assert json.loads(json.dumps(report.answers["2506.00003"].as_json()))["basis"] == "full_text"
