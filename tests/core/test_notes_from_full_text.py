"""Notes written from a paper's full text: what reaches the prompt, what the notes say they rest on,
and the custom prompt template. The real `openai` client talks to the fake server; a real store."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime, timezone

import pytest

from bot.commands import CommandRouter
from bot.config import NotesConfig, load_config
from bot.errors import ConfigError
from bot.fulltext.document import FullText, Section
from bot.fulltext.sections import estimate_tokens
from bot.llm_notes import NotesWriter, client_from_env
from bot.models import Figure
from bot.notes_prompt import build_prompt, check_template
from bot.service import PaperService
from store.sqlite import SqliteStore
from tests.support import FakeClock, make_paper

NOW = datetime(2025, 6, 9, 8, 30, tzinfo=timezone.utc)
pytestmark = pytest.mark.now(NOW)
BODY_ONLY = "The critic is trained on 40,000 annotated reasoning chains."
FILLER = "Filler sentence standing for a long stretch of the method section. "


def full_text(arxiv_id: str, *, method_repeats: int = 1) -> FullText:
    return FullText(
        arxiv_id, 1, "html",
        (
            Section("Abstract", "We propose a method."),
            Section("1 Introduction", "Reward models judge answers."),
            Section("2 Method", BODY_ONLY + " " + FILLER * method_repeats),
            Section("3 Experiments", "It improves accuracy by 4.1 points."),
            Section("4 Conclusion", "Step rewards help."),
        ),
        Figure("https://arxiv.org/html/2506.00001v1/x1.png", "The pipeline."),
    )  # fmt: skip


@pytest.fixture
async def store(store):
    """The shared store (tests/conftest.py), on NOW, with two reward-vlm papers."""
    await store.papers.upsert_papers(
        [make_paper("2506.00001", ("reward-vlm",)), make_paper("2506.00002", ("reward-vlm",), published="2025-05-01")]
    )
    return store


def writer_for(store, fake_openai, **settings) -> NotesWriter:
    config = NotesConfig(**({"enabled": True, "model": "fake-notes-1"} | settings))
    client = client_from_env(config, {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "sk-test"})
    return NotesWriter(store.notes, client, config, clock=FakeClock(NOW), fulltext=store.fulltext)


async def test_the_body_reaches_the_prompt_and_the_notes_say_they_rest_on_the_full_text(store, fake_openai):
    await store.fulltext.save_fulltext(full_text("2506.00001"))
    fake_openai.require_in_prompt(BODY_ONLY)  # a request without the body sentence fails: the note would not be written
    writer = writer_for(store, fake_openai)
    try:
        report = await writer.run(limit=1, topic="reward-vlm")
    finally:
        await writer.close()
    assert report.written == ["2506.00001"] and fake_openai.missing == 0
    system, user = fake_openai.requests[0].messages
    assert "Use only what the paper's text below says" in system["content"]
    assert "## 2 Method\n" + BODY_ONLY in user["content"] and "## Abstract" not in user["content"]

    service = PaperService(store.papers, fulltext=store.fulltext)
    router = CommandRouter(service)
    shown = (await router.answer_text("show 2506.00001")).reply
    assert "machine-written by fake-notes-1 from the full text" in shown.text
    data, _ = await router.answer_json(await router.read("show 2506.00001"))
    assert data["notes_basis"] == "full_text" and data["notes_origin"] == "fake-notes-1"
    assert data["figure"] == {"url": "https://arxiv.org/html/2506.00001v1/x1.png", "caption": "The pipeline."}


async def test_without_full_text_the_notes_rest_on_the_abstract(store, fake_openai):
    fake_openai.require_in_prompt(BODY_ONLY)
    writer = writer_for(store, fake_openai)
    try:
        report = await writer.run(limit=1, topic="reward-vlm")  # 2506.00001 has no full text stored
    finally:
        await writer.close()
    assert report.written == [] and fake_openai.missing == 1  # the check of the other test can fail
    fake_openai.required.clear()
    writer = writer_for(store, fake_openai)
    try:
        await writer.run(limit=1)
    finally:
        await writer.close()
    paper = await store.papers.get("2506.00001")  # the newest, still without notes after the refused request
    assert paper.notes_in("en").basis == "abstract"
    assert "Use only what the title and abstract say" in fake_openai.requests[-1].messages[0]["content"]


def test_a_long_paper_is_cut_to_max_input_tokens_section_by_section():
    paper = make_paper("2506.00001", ("reward-vlm",))
    prompt = build_prompt(paper, "en", full_text("2506.00001", method_repeats=3000), max_input_tokens=2000)
    total = sum(estimate_tokens(m["content"]) for m in prompt.messages)
    assert prompt.basis == "full_text" and total <= 2000
    user = prompt.messages[1]["content"]
    assert BODY_ONLY in user and "It improves accuracy by 4.1 points." in user and "Step rewards help." in user


async def test_a_prompt_file_replaces_our_user_prompt(store, fake_openai, tmp_path):
    (tmp_path / "prompt.txt").write_text(
        "Paper: {title}\nRead this:\n{full_text}\nNotes in {language}, JSON {{as asked}}.", encoding="utf-8"
    )
    (tmp_path / "paperbot.toml").write_text(
        '[notes]\nenabled = true\nmodel = "fake-notes-1"\nprompt_file = "prompt.txt"\n', encoding="utf-8"
    )
    config = load_config(tmp_path / "paperbot.toml", explicit=True)
    await store.fulltext.save_fulltext(full_text("2506.00001"))
    writer = writer_for(store, fake_openai)
    writer.config = config.notes
    try:
        await writer.run(limit=1)
    finally:
        await writer.close()
    user = fake_openai.requests[0].messages[1]["content"]
    assert (
        user.startswith("Paper: Paper 2506.00001") and BODY_ONLY in user and user.endswith("Notes in English, JSON {as asked}.")
    )
    assert "five string fields" in fake_openai.requests[0].messages[0]["content"]  # the answer's contract stays ours


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{title} {abstrct}", "unknown placeholder {abstrct}; the placeholders are {title}, {abstract}, {full_text}, {language}"),
        ("{full_text} {}", "unknown placeholder {}"),
        ("{full_text:>10}", "placeholder {full_text} takes no format or conversion"),
        ("{title} only", "uses neither {abstract} nor {full_text}"),
        ("{full_text} and a { lone brace", "write {{ and }} for a literal brace"),
    ],
)
def test_a_bad_template_is_a_config_error_at_load_naming_the_fix(tmp_path, template, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        check_template(template)
    (tmp_path / "p.txt").write_text(template, encoding="utf-8")
    (tmp_path / "c.toml").write_text('[notes]\nprompt_file = "p.txt"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "c.toml", explicit=True)
    assert str(raised.value).startswith(f"{tmp_path / 'c.toml'}: notes.prompt_file: {tmp_path / 'p.txt'}: ")


def test_a_missing_prompt_file_is_a_config_error(tmp_path):
    (tmp_path / "c.toml").write_text('[notes]\nprompt_file = "nowhere.txt"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="nowhere.txt does not exist"):
        load_config(tmp_path / "c.toml", explicit=True)


async def test_a_damaged_stored_full_text_is_logged_and_the_notes_rest_on_the_abstract(tmp_path, fake_openai, caplog):
    path = tmp_path / "damaged.db"
    store = await SqliteStore.open(path, clock=FakeClock(NOW))
    try:
        await store.papers.upsert_papers([make_paper("2506.00001", ("reward-vlm",))])
        await store.fulltext.save_fulltext(full_text("2506.00001"))
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            conn.execute("UPDATE fulltext SET body = ?", (b"not zlib",))
        writer = writer_for(store, fake_openai)
        try:
            report = await writer.run(limit=1)
        finally:
            await writer.close()
        assert report.written == ["2506.00001"]
        assert (await store.papers.get("2506.00001")).notes_in("en").basis == "abstract"
        assert "full text of 2506.00001 cannot be read (stored full text is damaged" in caplog.text
    finally:
        await store.close()
