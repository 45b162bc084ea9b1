"""`paperbot fulltext`, `paperbot notes` from the full text, and `paperbot ask` against the local arXiv web
fake and the fake OpenAI server (found through ARXIV_WEB_URL and OPENAI_BASE_URL): once as a real subprocess,
otherwise in this process (the `paperbot` fixture)."""

from __future__ import annotations

import json
from pathlib import Path
from subprocess import CompletedProcess
from typing import Callable

import pytest

from tests.support import Finished, run_paperbot
from tests.support.fake_arxiv_web import FakeArxivWeb, Sec, latexml_page, make_pdf
from tests.support.fake_openai import FakeOpenAI

BODY_ONLY = "The critic is trained on 40,000 annotated reasoning chains from GeoQA."
CONFIG = """
example_data = false
[fetch]
enabled = false
[fulltext]
delay_seconds = 0
retries = 1
[notes]
enabled = true
model = "fake-notes-1"
max_concurrency = 2
daily_budget = 20
timeout_seconds = 10
max_retries = 1
"""


@pytest.fixture
def servers():
    with FakeArxivWeb() as web, FakeOpenAI() as llm:
        web.add_html("2506.00003v1", latexml_page(
            "StepRM", "We propose StepRM.", [Sec("Method", [BODY_ONLY], figure=("x1.png", "The pipeline."))], ref="2506.00003v1",
        ))  # fmt: skip
        web.add_pdf("2506.00002v1", make_pdf([["Abstract", "We propose it.", "1 Method", "The PDF method text is here."]]))
        yield web, llm


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "paperbot.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def with_servers(
    paperbot: Callable[..., Finished | CompletedProcess], *args: str, db: Path, config: Path, servers, **env: str
) -> Finished | CompletedProcess:
    """`paperbot --config CONFIG ARGS` pointed at the fakes; `paperbot` runs it in this process or in another."""
    web, llm = servers
    environment = {"ARXIV_WEB_URL": web.url, "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "sk-cli-test", **env}
    return paperbot("--config", str(config), *args, db=db, env=environment)


@pytest.mark.subprocess
def test_fulltext_then_notes_from_it_then_show_with_the_figure(servers, db, config):
    web, llm = servers
    fetched = with_servers(run_paperbot, "fulltext", "--topic", "reward-vlm", db=db, config=config, servers=servers)
    assert fetched.returncode == 0, fetched.stderr
    assert fetched.stdout.splitlines() == [
        "full text: 2 stored (1 from HTML, 1 from PDF), 1 without full text (notes use their abstract)",
        "  2506.00001: arXiv has no HTML rendering, and no PDF (HTTP 404)",
    ]
    again = with_servers(run_paperbot, "fulltext", db=db, config=config, servers=servers)
    assert again.stdout.strip() == "full text: no paper needs it"

    llm.require_in_prompt(BODY_ONLY)
    notes = with_servers(run_paperbot, "notes", "--limit", "1", db=db, config=config, servers=servers)
    assert notes.returncode == 0 and "1 written" in notes.stdout and llm.missing == 0

    shown = with_servers(run_paperbot, "show", "2506.00003", "--json", db=db, config=config, servers=servers)
    data = json.loads(shown.stdout)
    assert data["notes_basis"] == "full_text"
    assert data["figure"] == {"url": f"{web.url}/html/2506.00003v1/x1.png", "caption": "The pipeline."}
    text = with_servers(run_paperbot, "show", "2506.00003", db=db, config=config, servers=servers).stdout
    assert "from the full text" in text and f"Key figure: The pipeline.\n{web.url}/html/2506.00003v1/x1.png" in text


def test_ask_one_paper_as_text_and_json(paperbot, servers, db, config):
    question = ("how", "many", "annotated", "reasoning", "chains", "train", "the", "critic?")
    asked = with_servers(paperbot, "ask", "2506.00003", *question, db=db, config=config, servers=servers)
    assert asked.returncode == 0, asked.stderr
    assert f"From the paper: “{BODY_ONLY}”" in asked.stdout and "from its full text" in asked.stdout  # fetched on demand
    as_json = with_servers(
        paperbot, "ask", "2506.00001", "what hardware did they use?", "--json", db=db, config=config, servers=servers
    )
    data = json.loads(as_json.stdout)
    assert data == {
        "arxiv_id": "2506.00001", "title": data["title"], "question": "what hardware did they use?", "known": False,
        "answer": "I don't know from this paper.", "quote": None, "basis": "abstract", "model": "fake-notes-1",
    }  # fmt: skip


def test_ask_a_topic_writes_one_report(paperbot, servers, db, config, tmp_path):
    with_servers(paperbot, "fulltext", db=db, config=config, servers=servers)
    report = tmp_path / "report.md"
    question = "how many annotated reasoning chains train the critic?"
    asked = with_servers(
        paperbot, "ask", "--topic", "reward-vlm", question, "-o", str(report), db=db, config=config, servers=servers
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.splitlines() == [
        f"report written to {report}",
        'ask (fake-notes-1): 3 papers: 3 answered (1 from the paper, 2 "I don\'t know")',
    ]
    text = report.read_text(encoding="utf-8")
    assert f"> {BODY_ONLY}" in text and text.count("_I don't know from this paper._") == 2


def test_usage_errors_exit_2_and_ask_nothing(paperbot, servers, db, config, tmp_path):
    _, llm = servers
    assert with_servers(paperbot, "ask", "2506.00003", db=db, config=config, servers=servers).returncode == 2
    out = with_servers(paperbot, "ask", "2506.00003", "why?", "-o", "x.md", db=db, config=config, servers=servers)
    assert out.returncode == 2 and "-o/--output is for a topic's report" in out.stderr
    unknown = with_servers(paperbot, "ask", "--topic", "nope", "why?", db=db, config=config, servers=servers)
    assert unknown.returncode == 2 and "Unknown topic 'nope'" in unknown.stderr
    bad_url = with_servers(paperbot, "fulltext", db=db, config=config, servers=servers, ARXIV_WEB_URL="arxiv.org")
    assert bad_url.returncode == 2 and "ARXIV_WEB_URL: must be an http:// or https:// URL" in bad_url.stderr
    (tmp_path / "prompt.txt").write_text("{title} {abstrakt}", encoding="utf-8")
    bad_prompt = tmp_path / "bad.toml"
    bad_prompt.write_text(CONFIG + 'prompt_file = "prompt.txt"\n', encoding="utf-8")
    refused = with_servers(paperbot, "notes", db=db, config=bad_prompt, servers=servers)
    assert (
        refused.returncode == 2 and "notes.prompt_file" in refused.stderr and "unknown placeholder {abstrakt}" in refused.stderr
    )
    assert llm.requests == []


def test_arxiv_unreachable_exits_1_and_keeps_the_papers_for_next_time(paperbot, servers, db, config):
    result = with_servers(paperbot, "fulltext", db=db, config=config, servers=servers, ARXIV_WEB_URL="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "stopped: cannot reach 127.0.0.1:9/html/2506.00003v1" in result.stdout and "3 left for a later run" in result.stdout
