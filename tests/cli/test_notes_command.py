"""`paperbot notes`, and the running service writing notes after a fetch.

The fake OpenAI server serves from a thread (tests/support/fake_openai.py) and the
command finds it through OPENAI_BASE_URL, like a real deployment finds vLLM, llama.cpp
or Ollama: once from a real subprocess, otherwise in this process (`paperbot` fixture).
"""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from subprocess import CompletedProcess
from typing import Callable

import pytest

from bot.app import Runtime, assemble, open_store
from bot.config import parse_config
from bot.models import Paper
from tests.support import Finished, make_paper, run_paperbot
from tests.support.fake_arxiv import FakeArxiv, FakePaper
from tests.support.fake_arxiv_web import FakeArxivWeb, Sec, latexml_page
from tests.support.fake_openai import EN_NOTES, FakeOpenAI

KEY = "sk-cli-secret-key-9876543210"

NOTES_CONFIG = """
tldr_lang = "en"
example_data = false

[fetch]
enabled = false

[notes]
enabled = true
model = "fake-notes-1"
language = "en"
max_concurrency = 2
daily_budget = 50
timeout_seconds = 10
max_retries = 1
"""


@pytest.fixture
def config_path(config_file) -> Path:
    return config_file(NOTES_CONFIG)


@pytest.fixture
def seeded_papers(seeded_papers: list[Paper]) -> list[Paper]:
    """`db` holds a paper of another topic too (tests/cli/conftest.py)."""
    return [*seeded_papers, make_paper("2506.00009", ("driving",), published="2025-06-09")]


def notes(paperbot: Callable[..., Finished | CompletedProcess], *args: str, db: Path, config: Path,
          fake: FakeOpenAI | None = None, **env: str) -> Finished | CompletedProcess:  # fmt: skip
    """`paperbot --config CONFIG ARGS` with the notes server's variables; `paperbot` runs it in this process or another."""
    environment = {"OPENAI_BASE_URL": fake.base_url if fake else "", "OPENAI_API_KEY": KEY, **env}
    return paperbot("--config", str(config), *args, db=db, env=environment)


@pytest.mark.slow
@pytest.mark.subprocess
def test_notes_backfills_and_show_labels_them_machine_written(fake_openai, db, config_path):
    result = notes(run_paperbot, "notes", "--topic", "reward-vlm", db=db, config=config_path, fake=fake_openai)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "notes (en, fake-notes-1): 3 written"
    assert len(fake_openai.requests) == 3 and {r.authorization for r in fake_openai.requests} == {f"Bearer {KEY}"}

    show = run_paperbot("--config", str(config_path), "show", "2506.00002", db=db)
    assert show.returncode == 0
    assert "machine-written by fake-notes-1" in show.stdout and EN_NOTES["motivation"] in show.stdout
    detail = json.loads(run_paperbot("--config", str(config_path), "show", "2506.00002", "--json", db=db).stdout)
    assert detail["notes_source"] == "llm" and detail["tldr"] == detail["notes"]["headline"]

    again = notes(run_paperbot, "notes", "--topic", "reward-vlm", db=db, config=config_path, fake=fake_openai)
    assert again.returncode == 0 and again.stdout.strip() == "notes (en, fake-notes-1): no paper needs notes"


def test_limit_takes_the_newest_papers_first(paperbot, fake_openai, db, config_path):
    result = notes(paperbot, "notes", "--limit", "1", db=db, config=config_path, fake=fake_openai)
    assert result.returncode == 0 and "1 written" in result.stdout
    assert "Title: Paper 2506.00009" in fake_openai.requests[0].messages[1]["content"]


def test_usage_errors_exit_2_and_ask_nothing(paperbot, fake_openai, db, config_path, tmp_path):
    unknown = notes(paperbot, "notes", "--topic", "nope", db=db, config=config_path, fake=fake_openai)
    assert unknown.returncode == 2 and "Unknown topic 'nope'" in unknown.stderr
    bad_limit = notes(paperbot, "notes", "--limit", "0", db=db, config=config_path, fake=fake_openai)
    assert bad_limit.returncode == 2 and "at least 1" in bad_limit.stderr
    no_server = notes(paperbot, "notes", db=db, config=config_path, fake=None, OPENAI_API_KEY="")
    assert no_server.returncode == 2 and "need OPENAI_API_KEY" in no_server.stderr
    disabled = paperbot("notes", db=db, env={"OPENAI_BASE_URL": fake_openai.base_url})  # the offline config
    assert disabled.returncode == 2 and "disabled in the config ([notes] enabled = false)" in disabled.stderr
    no_model = tmp_path / "no-model.toml"
    no_model.write_text("[notes]\nenabled = true\n", encoding="utf-8")
    bad_config = notes(paperbot, "notes", db=db, config=no_model, fake=fake_openai)
    assert bad_config.returncode == 2 and "notes: notes are enabled but no model is named" in bad_config.stderr
    assert fake_openai.requests == []


def test_a_failed_paper_is_listed_exits_1_and_succeeds_on_the_next_run(paperbot, fake_openai, db, config_path):
    fake_openai.answer("I would rather not use JSON.", times=2)
    first = notes(paperbot, "notes", "--topic", "reward-vlm", "--limit", "1", db=db, config=config_path, fake=fake_openai)
    assert first.returncode == 1
    assert first.stdout.splitlines() == [
        "notes (en, fake-notes-1): 0 written, 1 failed (kept their extractive TLDR; retried on a later run)",
        "  2506.00003: unusable answer twice (the answer is not JSON (no JSON object found))",
    ]
    assert first.stderr.count("notes for 2506.00003 failed") == 1
    latest = paperbot("--config", str(config_path), "latest", "reward-vlm", "--json", db=db)
    assert [p["arxiv_id"] for p in json.loads(latest.stdout)][0] == "2506.00003"  # still listed

    second = notes(paperbot, "notes", "--topic", "reward-vlm", db=db, config=config_path, fake=fake_openai)
    assert second.returncode == 0 and "3 written" in second.stdout


@pytest.mark.slow
def test_429_with_retry_after_is_waited_out(paperbot, fake_openai, db, config_path):
    fake_openai.fail(429, retry_after="1", message="slow down")
    result = notes(paperbot, "notes", "--limit", "1", db=db, config=config_path, fake=fake_openai)
    assert result.returncode == 0 and "1 written" in result.stdout and len(fake_openai.requests) == 2


def test_the_api_key_never_reaches_output_or_logs(paperbot, fake_openai, db, config_path):
    fake_openai.fail(401, message=f"Incorrect API key provided: {KEY}. You can find your key in your account.")
    result = notes(paperbot, "-v", "notes", db=db, config=config_path, fake=fake_openai)
    assert result.returncode == 1 and "HTTP 401" in result.stdout and "check OPENAI_API_KEY" in result.stdout
    assert KEY not in result.stdout and KEY not in result.stderr


# --- the running service --------------------------------------------------------------------------


SERVICE_CONFIG = """
example_data = false
arxiv_api_url = "{arxiv_url}"

[fetch]
delay_seconds = 0
retries = 0
timeout_seconds = 5

[notes]
enabled = true
model = "fake-notes-1"
language = "zh"

[[topics]]
name = "reward-vlm"
query = 'abs:"reward model"'
"""


async def test_the_service_fetches_full_text_then_writes_notes_from_it_after_each_fetch(fake_openai, tmp_path):
    recent = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
    body_only = "The step critic is trained on 40,000 annotated chains."
    with FakeArxiv() as arxiv, FakeArxivWeb() as web:
        arxiv.add(FakePaper("2506.01234", title="Step rewards", summary="We propose StepRM.", published=recent))
        web.add_html(
            "2506.01234v1", latexml_page("Step rewards", "We propose StepRM.", [Sec("Method", [body_only])], ref="2506.01234v1")
        )
        fake_openai.require_in_prompt(body_only)
        config = parse_config(SERVICE_CONFIG.format(arxiv_url=arxiv.url) + "\n[fulltext]\ndelay_seconds = 0\n", "test")
        env = {"OPENAI_BASE_URL": fake_openai.base_url, "ARXIV_WEB_URL": web.url}
        runtime = Runtime(db_path=str(tmp_path / "p.db"), config=config, env=env)
        async with open_store(runtime) as store:
            bot = await assemble(runtime, store, stdin=io.StringIO(""), stdout=io.StringIO())
            try:
                assert bot.notes is not None and bot.scheduler.fetch is not None
                await bot.scheduler.fetch.run()
            finally:
                bot.fetcher.close()
                await bot.notes.close()
                await bot.fulltext.close()
            paper = await store.papers.get("2506.01234")
    assert web.requests == ["/html/2506.01234v1"] and fake_openai.missing == 0
    assert paper is not None and paper.notes_in("zh").source == "llm" and paper.notes_in("zh").basis == "full_text"
    assert paper.notes_in("zh").headline == "Step rewards：会检查推理过程的奖励模型"
    assert fake_openai.requests[0].authorization == "Bearer not-needed"  # local servers need no key


async def test_the_service_runs_without_a_notes_server_and_says_why(tmp_path, caplog):
    config = parse_config(NOTES_CONFIG, "test")
    runtime = Runtime(db_path=str(tmp_path / "p.db"), config=config, env={})
    caplog.set_level(logging.WARNING, "paperbot")
    async with open_store(runtime) as store:
        bot = await assemble(runtime, store, stdin=io.StringIO(""), stdout=io.StringIO())
    assert bot.notes is None
    assert any("machine-written notes are enabled but cannot run" in r.getMessage() for r in caplog.records)
