"""Machine notes end to end in-process: the real `openai` client, a fake server on 127.0.0.1, a real store.

Waits between retries go through an injected sleep that records them, so a
Retry-After of 7 s is checked without waiting 7 s; only the timeout test
really waits (a fraction of a second).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from bot.config import NotesConfig
from bot.digest import digest_reply
from bot.errors import UserError
from bot.llm_notes import NotesWriter, client_from_env
from bot.models import Notes, TextQuality, Topic
from bot.presenter import paper_detail
from bot.summarize import extractive_tldr, tldr
from tests.support import make_paper
from tests.support.fake_openai import EN_NOTES, ZH_NOTES

NOW = datetime(2025, 6, 9, 8, 30, tzinfo=timezone.utc)
KEY = "sk-test-notes-key-0123456789"
LOGGER = "paperbot.notes"


pytestmark = pytest.mark.now(NOW)


@pytest.fixture
async def make_writer(store, fake_openai, clock, sleeps):
    made: list[NotesWriter] = []

    def make(base_url: str | None = None, **settings) -> NotesWriter:
        config = NotesConfig(**({"enabled": True, "model": "fake-notes-1", "timeout_seconds": 5.0} | settings))
        client = client_from_env(config, {"OPENAI_BASE_URL": base_url or fake_openai.base_url, "OPENAI_API_KEY": KEY})
        writer = NotesWriter(store.notes, client, config, clock=clock, sleep=sleeps)
        made.append(writer)
        return writer

    yield make
    for writer in made:
        await writer.close()


async def add_papers(store, *ids: str, topic: str = "reward-vlm") -> None:
    # Newest first by id: 2506.00003 is published after 2506.00002, and so on.
    await store.papers.upsert_papers(
        make_paper(arxiv_id, (topic,), published=f"2025-06-{int(arxiv_id[-2:]):02d}") for arxiv_id in ids
    )


def machine_notes(paper, lang: str) -> Notes | None:
    return next((n for n in paper.notes if n.lang == lang and n.source == "llm"), None)


def failure_logs(caplog, arxiv_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and arxiv_id in r.getMessage() and r.levelno >= logging.WARNING]


# --- a good answer --------------------------------------------------------------------------


async def test_a_good_answer_is_stored_with_provenance_and_shown_as_machine_written(store, fake_openai, make_writer):
    await add_papers(store, "2506.00001")
    before = await store.papers.get("2506.00001")
    report = await make_writer().run()

    assert report.ok and report.written == ["2506.00001"] and report.summary() == "notes (en, fake-notes-1): 1 written"
    paper = await store.papers.get("2506.00001")
    assert replace(paper, notes=()) == replace(before, notes=())  # only the notes changed
    notes = machine_notes(paper, "en")
    assert notes is not None and notes.origin == "fake-notes-1" and notes.created_at == "2025-06-09T08:30:00Z"
    assert notes.method == EN_NOTES["method"] and notes.headline.startswith("Paper 2506.00001 on reward models")

    (request,) = fake_openai.requests
    assert request.body["model"] == "fake-notes-1"
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.authorization == f"Bearer {KEY}"
    assert "Title: Paper 2506.00001 on reward models" in request.messages[1]["content"]

    detail = paper_detail(paper, "en")
    assert "machine-written by fake-notes-1 from the abstract only, 2025-06-09" in detail.notes_label
    assert "🚀 Method" in detail.text and EN_NOTES["method"] in detail.text
    # The TLDR everywhere (lists, digests) is now the headline.
    assert tldr(paper, "en") == notes.headline


async def test_machine_notes_are_searchable(store, make_writer):
    await add_papers(store, "2506.00001")
    assert await store.papers.search("hacking") == []
    await make_writer().run()
    assert [p.arxiv_id for p in await store.papers.search("hacking")] == ["2506.00001"]


async def test_chinese_notes_serve_a_chinese_digest_and_leave_the_english_tldr_extractive(store, make_writer):
    await add_papers(store, "2506.00001")
    await make_writer(language="zh").run()

    paper = await store.papers.get("2506.00001")
    notes = machine_notes(paper, "zh")
    assert notes is not None and notes.motivation == ZH_NOTES["motivation"]
    topic = Topic("reward-vlm", "Reward models + VLMs")
    zh_digest = digest_reply(topic, "2025-W24", [paper], 1, "zh", "weekly")
    en_digest = digest_reply(topic, "2025-W24", [paper], 1, "en", "weekly")
    assert zh_digest.cards[0].tldr == notes.headline
    assert en_digest.cards[0].tldr == extractive_tldr(paper.abstract)
    assert "Notes (Chinese), machine-written by fake-notes-1" in paper_detail(paper, "en").notes_label


# --- unusable answers: one retry with the validation error ------------------------------------


async def test_invalid_json_then_a_good_answer_is_stored(store, fake_openai, make_writer):
    await add_papers(store, "2506.00001")
    fake_openai.answer("Sure! The paper proposes a step-level reward model.")
    report = await make_writer().run()

    assert report.ok and report.written == ["2506.00001"]
    first, second = fake_openai.requests
    assert second.messages[:2] == first.messages
    assert second.messages[2] == {"role": "assistant", "content": "Sure! The paper proposes a step-level reward model."}
    assert second.messages[3]["role"] == "user" and "not JSON" in second.messages[3]["content"]
    assert await store.notes.notes_budget_spent("2025-06-09") == 1  # one paper, however many requests


async def test_a_missing_section_twice_fails_the_paper_which_keeps_its_extractive_tldr(store, fake_openai, make_writer, caplog):
    await add_papers(store, "2506.00001", "2506.00002")
    no_takeaways = {k: v.format(title="X") for k, v in EN_NOTES.items() if k != "takeaways"}
    fake_openai.answer(no_takeaways, times=2)  # the first paper asked about is the newest: 2506.00002
    caplog.set_level(logging.DEBUG, LOGGER)
    report = await make_writer(max_concurrency=1).run()

    assert report.written == ["2506.00001"] and not report.ok
    assert report.failed == {"2506.00002": "unusable answer twice (missing section 'takeaways')"}
    assert "missing section 'takeaways'" in fake_openai.requests[1].messages[3]["content"]
    failed = await store.papers.get("2506.00002")
    assert machine_notes(failed, "en") is None and tldr(failed, "en") == extractive_tldr(failed.abstract)
    assert [p.arxiv_id for p in await store.papers.latest()] == ["2506.00002", "2506.00001"]  # never hidden
    assert await store.notes.notes_failures("en") == {"2506.00002": (1, report.failed["2506.00002"])}
    assert len(failure_logs(caplog, "2506.00002")) == 1


async def test_a_wrong_language_is_corrected_once_or_fails(store, fake_openai, make_writer):
    await add_papers(store, "2506.00001", "2506.00002")
    english = {k: v.format(title="X") for k, v in EN_NOTES.items()}
    fake_openai.answer(english, times=3)  # paper 2: English twice (fails); paper 1: English, then Chinese
    report = await make_writer(language="zh", max_concurrency=1).run()

    assert report.written == ["2506.00001"]
    assert report.failed["2506.00002"].startswith(
        "unusable answer twice (the notes are not in Chinese (only 0% of the letters are Chinese))"
    )
    assert "not in Chinese" in fake_openai.requests[3].messages[3]["content"]
    assert machine_notes(await store.papers.get("2506.00001"), "zh").headline.endswith("会检查推理过程的奖励模型")


async def test_a_refusal_fails_the_paper_without_asking_again(store, fake_openai, make_writer):
    await add_papers(store, "2506.00001")
    fake_openai.refuse("I can't help with that request.")
    report = await make_writer().run()

    assert report.failed == {"2506.00001": "the model refused: I can't help with that request."}
    assert len(fake_openai.requests) == 1


async def test_a_failed_paper_is_retried_on_the_next_run_after_papers_never_tried(store, fake_openai, make_writer):
    await add_papers(store, "2506.00001")
    fake_openai.answer("nope", times=2)
    first = await make_writer().run()
    assert list(first.failed) == ["2506.00001"]

    await add_papers(store, "2506.00005")
    assert [p.arxiv_id for p in await store.notes.papers_needing_notes("en")] == ["2506.00005", "2506.00001"]
    second = await make_writer(max_concurrency=1).run()
    assert second.ok and second.written == ["2506.00005", "2506.00001"]
    assert await store.notes.notes_failures("en") == {}


# --- the server misbehaves -----------------------------------------------------------------------


async def test_429_retry_after_is_honoured_then_the_answer_is_stored(store, fake_openai, make_writer, sleeps):
    await add_papers(store, "2506.00001")
    fake_openai.fail(429, retry_after="7")
    report = await make_writer().run()

    assert report.ok and report.written == ["2506.00001"]
    assert sleeps.waits == [7.0] and len(fake_openai.requests) == 2


async def test_a_429_asking_for_too_long_a_wait_stops_the_run_and_returns_the_budget(
    store, fake_openai, make_writer, sleeps, caplog
):
    await add_papers(store, "2506.00001", "2506.00002")
    fake_openai.fail(429, retry_after="3600")
    report = await make_writer(max_concurrency=1).run()

    assert report.stopped == "rate limited (HTTP 429); the server asks to wait 3600 s" and report.stopped_by_failure
    assert report.written == [] and report.failed == {} and report.left == 2
    assert sleeps.waits == [] and len(fake_openai.requests) == 1
    assert await store.notes.notes_budget_spent("2025-06-09") == 0
    assert await store.notes.notes_failures("en") == {}  # not the paper's fault: it keeps its place
    assert [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.WARNING] == [
        "notes: stopped this run: rate limited (HTTP 429); the server asks to wait 3600 s; "
        "at least 2 paper(s) left for a later run"
    ]


async def test_a_500_then_success_is_retried_with_backoff(store, fake_openai, make_writer, sleeps):
    await add_papers(store, "2506.00001")
    fake_openai.fail(500)
    report = await make_writer().run()
    assert report.ok and sleeps.waits == [1.0]


async def test_500s_past_the_retries_stop_the_run_and_the_papers_are_written_next_time(store, fake_openai, make_writer, sleeps):
    await add_papers(store, "2506.00001", "2506.00002", "2506.00003")
    fake_openai.fail(503, times=3, message="overloaded")
    report = await make_writer(max_retries=2, max_concurrency=1).run()

    assert report.stopped == "server error (HTTP 503: overloaded)" and not report.ok
    assert report.written == [] and report.left == 3 and sleeps.waits == [1.0, 2.0]
    assert len(fake_openai.requests) == 3  # then no further paper is tried against a failing server
    for paper in await store.papers.latest():
        assert machine_notes(paper, "en") is None and tldr(paper, "en") == extractive_tldr(paper.abstract)
    assert await store.notes.notes_budget_spent("2025-06-09") == 0

    again = await make_writer().run()
    assert again.ok and sorted(again.written) == ["2506.00001", "2506.00002", "2506.00003"]


async def test_a_timeout_stops_the_run_and_counts_against_the_budget(store, fake_openai, make_writer):
    await add_papers(store, "2506.00001")
    fake_openai.hang(3.0)
    report = await make_writer(timeout_seconds=0.3, max_retries=0).run()

    assert report.stopped == "no answer within 0.3 s" and report.stopped_by_failure
    assert await store.notes.notes_budget_spent("2025-06-09") == 1  # the model may have worked on it
    assert machine_notes(await store.papers.get("2506.00001"), "en") is None


async def test_an_unreachable_server_stops_the_run(store, make_writer):
    await add_papers(store, "2506.00001")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    report = await make_writer(base_url=f"http://127.0.0.1:{closed_port}/v1", max_retries=1).run()

    assert report.stopped.startswith("cannot reach the notes server") and report.left == 1
    assert await store.notes.notes_budget_spent("2025-06-09") == 0


async def test_a_refused_key_stops_at_once_and_the_key_never_shows(store, fake_openai, make_writer, sleeps):
    await add_papers(store, "2506.00001", "2506.00002")
    fake_openai.fail(401, message=f"Incorrect API key provided: {KEY}.")
    report = await make_writer(max_concurrency=1).run()

    assert report.stopped == "the server refused the request (HTTP 401: Incorrect API key provided: ***.); check OPENAI_API_KEY"
    assert len(fake_openai.requests) == 1 and sleeps.waits == []


async def test_a_400_suggests_turning_json_mode_off_and_json_mode_off_sends_no_response_format(store, fake_openai, make_writer):
    await add_papers(store, "2506.00001")
    fake_openai.fail(400, message="response_format is not supported")
    report = await make_writer().run()
    assert "set json_mode = false in [notes]" in report.stopped

    assert (await make_writer(json_mode=False).run()).ok
    assert "response_format" not in fake_openai.requests[-1].body


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<html><body>Welcome to the hotel wifi</body></html>", "text/html"),
        ('{"choices": [', "application/json"),
        ("[]", "application/json"),
    ],
)
async def test_a_200_that_is_no_completion_stops_the_run_and_crashes_nothing(store, fake_openai, make_writer, body, content_type):
    await add_papers(store, "2506.00001")
    fake_openai.raw(body, content_type, times=3)
    report = await make_writer(max_retries=0).run()
    assert report.stopped.startswith("unexpected response from the notes server") and report.left == 1
    assert await store.notes.notes_failures("en") == {}


# --- budget and concurrency --------------------------------------------------------------------


async def test_the_daily_budget_stops_the_run_and_a_new_utc_day_continues(store, fake_openai, make_writer, clock, caplog):
    await add_papers(store, "2506.00001", "2506.00002", "2506.00003")
    caplog.set_level(logging.INFO, LOGGER)
    first = await make_writer(daily_budget=2, max_concurrency=1).run(limit=3)

    assert first.written == ["2506.00003", "2506.00002"] and first.left == 1 and first.ok
    assert first.summary() == (
        "notes (en, fake-notes-1): 2 written, at least 1 left for a later run; "
        "stopped: the daily budget of 2 papers is spent (UTC day 2025-06-09)"
    )
    assert sum("daily budget" in r.getMessage() for r in caplog.records) == 1

    same_day = await make_writer(daily_budget=2).run()
    assert same_day.written == [] and "daily budget" in same_day.stopped and len(fake_openai.requests) == 2

    clock.advance(hours=16)  # 00:30 UTC the next day
    next_day = await make_writer(daily_budget=2).run()
    assert next_day.written == ["2506.00001"] and len(fake_openai.requests) == 3
    assert await store.papers.get_meta("notes.spent.2025-06-09") is None  # old counters are dropped


async def test_two_concurrent_runs_never_overspend_the_budget(store, fake_openai, make_writer):
    await add_papers(store, *(f"2506.000{i:02d}" for i in range(1, 7)))
    reports = await asyncio.gather(make_writer(daily_budget=3).run(), make_writer(daily_budget=3).run())
    assert len(fake_openai.requests) == 3 and await store.notes.notes_budget_spent("2025-06-09") == 3
    assert sum(len(r.written) for r in reports) == 3


async def test_requests_in_flight_never_exceed_max_concurrency(store, fake_openai, make_writer):
    await add_papers(store, *(f"2506.000{i:02d}" for i in range(1, 6)))
    fake_openai.hold(2, times=5)  # each answer waits until two requests are open at once
    report = await make_writer(max_concurrency=2).run()
    assert report.ok and len(report.written) == 5
    assert fake_openai.max_in_flight == 2


async def test_limit_and_topic_choose_the_papers(store, make_writer):
    await add_papers(store, "2506.00001", "2506.00002")
    await add_papers(store, "2506.00003", topic="driving")
    report = await make_writer().run(topic="reward-vlm", limit=1)
    assert report.written == ["2506.00002"] and report.left == 0


# --- human notes are never replaced -------------------------------------------------------------


async def test_papers_with_human_notes_in_the_language_are_not_asked_about(store, fake_openai, make_writer):
    human = Notes("en", headline="Hand-written headline for this paper", motivation="Because.", origin="list.md")
    await store.papers.upsert_papers([replace(make_paper("2506.00001", ("reward-vlm",)), notes=(human,))])
    report = await make_writer().run()
    assert report.candidates == 0 and fake_openai.requests == []


async def test_machine_notes_go_beside_human_notes_and_never_replace_them(store, make_writer):
    human_zh = Notes("zh", headline="人工写的标题", motivation="人工写的动机。", origin="list.md")
    await store.papers.upsert_papers([replace(make_paper("2506.00001", ("reward-vlm",)), notes=(human_zh,))])
    await make_writer(language="en").run()

    stored = await store.papers.get("2506.00001")
    assert {(n.lang, n.source) for n in stored.notes} == {("zh", "paperlist"), ("en", "llm")}
    assert stored.notes_in("zh").headline == "人工写的标题"

    # Even written straight into the store, machine notes in the human notes' language stay second.
    machine_zh = Notes("zh", **{k: v.format(title="X") for k, v in ZH_NOTES.items()}, source="llm", origin="m")
    assert await store.notes.add_notes("2506.00001", machine_zh)
    stored = await store.papers.get("2506.00001")
    assert stored.notes_in("zh").source == "paperlist" and stored.notes_in("zh").headline == "人工写的标题"
    assert "from list.md" in paper_detail(stored, "zh").notes_label
    assert await store.notes.add_notes("2599.99999", machine_zh) is False


async def test_damaged_human_notes_do_not_count_as_notes(store, make_writer):
    damaged = Notes("en", headline="è®ºæ–‡ garbage", origin="list.md", text_quality=TextQuality.DAMAGED)
    await store.papers.upsert_papers([replace(make_paper("2506.00001", ("reward-vlm",)), notes=(damaged,))])
    report = await make_writer().run()
    assert report.written == ["2506.00001"]
    assert tldr(await store.papers.get("2506.00001"), "en") != "è®ºæ–‡ garbage"


# --- set-up errors and helpers -----------------------------------------------------------------


def test_the_client_needs_a_key_or_a_local_server():
    config = NotesConfig(enabled=True, model="m")
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        client_from_env(config, {})
    with pytest.raises(UserError, match="http:// or https://"):
        client_from_env(config, {"OPENAI_BASE_URL": "localhost:8000"})
    local = client_from_env(config, {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1"})
    assert str(local.base_url).startswith("http://127.0.0.1:11434/v1") and local.max_retries == 0


async def test_two_different_problems_are_both_reported(store, fake_openai, make_writer):
    await add_papers(store, "2506.00001")
    fake_openai.answer({k: v.format(title="X") for k, v in EN_NOTES.items() if k != "takeaways"})
    fake_openai.answer({k: v.format(title="X") for k, v in ZH_NOTES.items()})
    report = await make_writer().run()
    assert report.failed == {
        "2506.00001": "unusable answer twice (missing section 'takeaways'; "
        "then the notes are not in English (99% of the letters are Chinese or Japanese))"
    }
