"""Slack Block Kit rendering: golden payloads, limits, escaping, and properties.

Golden files live in tests/golden/slack/. After an intended change, rewrite
them with `UPDATE_GOLDEN=1 pytest tests/adapters/slack/test_block_kit_rendering.py`, then read the
diff before committing it.
"""

from __future__ import annotations

import difflib
import json
import os
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.slack.limits import (
    MAX_BLOCKS,
    MAX_HEADER_TEXT,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_TEXT,
    block_texts,
    check_message_limits,
    find_mentions,
)
from adapters.slack.render import (
    MAX_LINK_URL,
    ShareButton,
    digest_metadata,
    escape_mrkdwn_text,
    render_messages,
    safe_url,
)
from bot.models import DetailSection, ErrorReply, NoticeReply, PaperCard, PaperDetailReply, PaperListReply
from tests.support import ROOT

GOLDEN_DIR = ROOT / "tests" / "golden" / "slack"
OUR_LINK = re.compile(r"<https?://[^\s<>|]+\|[^<>]*>")
HOSTILE = ["<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<#C123>", "<!subteam^S1|team>", "a & b < c > d"]


# --- helpers ---------------------------------------------------------------------------


def assert_golden(name: str, messages: list[dict]) -> None:
    path = GOLDEN_DIR / f"{name}.json"
    actual = json.dumps(messages, ensure_ascii=False, indent=2) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; create it with UPDATE_GOLDEN=1", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), str(path), "rendered now")
        )
        pytest.fail(f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n{diff}", pytrace=False)


def assert_sendable(messages: list[dict]) -> None:
    assert messages, "a reply must produce at least one message"
    for message in messages:
        assert check_message_limits(message) == []
        assert find_mentions(message) == []
        assert_only_our_markup(message)


def assert_only_our_markup(message: dict) -> None:
    """The only `<`/`>` Slack sees are our own `<http…|…>` links."""
    assert "<" not in message["text"] and ">" not in message["text"]
    for text in block_texts(message["blocks"]):
        rest = OUR_LINK.sub("", text)
        assert "<" not in rest and ">" not in rest, text


def visible_text(messages: list[dict]) -> str:
    """What a reader sees: link labels instead of markup, entities decoded."""
    texts = [t for m in messages for t in block_texts(m["blocks"])]
    text = OUR_LINK.sub(lambda m: m.group(0).split("|", 1)[1][:-1], "\n".join(texts))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("\u2060", "")


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text)


def is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


def no_space(text: str) -> str:
    return re.sub(r"\s", "", text)


def prose(seed: int, n_chars: int) -> str:
    """Deterministic English-like text of about `n_chars`, made of distinct-looking words."""
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n_chars:
        sentence = [
            "".join(rng.choice("abcdefghijklmnoprstuvwy") for _ in range(rng.randint(2, 11)))
            for _ in range(rng.randint(6, 18))
        ]
        line = " ".join(sentence).capitalize() + "."
        out.append(line)
        size += len(line) + 1
    return " ".join(out)


VOCABULARY = (
    "reward model vision language policy preference reasoning benchmark driving agent dataset "
    "training inference alignment feedback human judge evaluation robust scalable multimodal "
    "token image video planning perception prediction behaviour stage task loss baseline "
    "improves outperforms shows proposes learns compares trains measures reduces transfers "
    "the a of on with for and to in by from across under without each every two three small large"
).split()


def english(seed: int, n_chars: int) -> str:
    """Deterministic readable filler for golden files (words repeat, so not for loss checks)."""
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n_chars:
        line = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(8, 16))).capitalize() + "."
        out.append(line)
        size += len(line) + 1
    return " ".join(out)


# --- sample replies --------------------------------------------------------------------

TITLES = [
    "DriveRX: A Vision-Language Reasoning Model for Cross-Task Autonomous Driving",
    "Multimodal RewardBench: Holistic Evaluation of Reward Models for Vision Language Models",
    "Direct Preference Optimization: Your Language Model is Secretly a Reward Model",
    "Deep reinforcement learning from human preferences",
    "VLM-R1: A Stable and Generalizable R1-style Large Vision-Language Model",
]


def card(i: int, *, tldr: str | None = None, code: bool = True, **changes) -> PaperCard:
    arxiv_id = f"2506.{10000 + i:05d}"
    fields = dict(
        arxiv_id=arxiv_id,
        title=TITLES[i % len(TITLES)],
        url=f"https://arxiv.org/abs/{arxiv_id}",
        published=f"2025-06-{1 + i % 28:02d}",
        authors=("Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra")[: 1 + i % 4],
        code_url=f"https://github.com/example/repo-{i}" if code else None,
        tldr=tldr if tldr is not None else english(i, 180),
        version=1 + i % 3,
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}v{1 + i % 3}",
        topics=("reward-vlm",),
    )
    fields.update(changes)
    return PaperCard(**fields)


CHINESE_NOTES = (
    DetailSection("🌟 Headline", "论文解读 | DriveRX：面向跨任务自动驾驶的视觉-语言推理模型"),
    DetailSection("📌 Motivation", "端到端自动驾驶模型缺少结构化推理，在复杂场景中难以泛化。"),
    DetailSection(
        "🚀 Method",
        "💡 创新点1：把驾驶拆成感知、预测、规划、行为四个问答任务。\n💡 创新点2：每个任务配一个奖励模型，用强化学习训练。",
    ),
    DetailSection("📈 Results", "行为推理优于 GPT-4o，在受损画面下依然稳健。"),
    DetailSection("💬 Takeaways", "1. 多阶段任务各配奖励模型。\n2. 视觉编码器的选择很重要。"),
)


def golden_replies() -> dict[str, tuple]:
    """name -> (reply, share) for every golden file."""
    five = tuple(card(i) for i in range(4)) + (card(4, tldr=english(99, 3400)),)
    digest = tuple(card(i, tldr=english(i, 420), code=i % 3 != 0) for i in range(25))
    return {
        "list_5_papers": (PaperListReply("Latest: reward-vlm", five, ("5 papers · /paper show ID for details",)), None),
        "list_empty": (
            PaperListReply("Search: 自动驾驶 world model", (), empty_text="No papers match “自动驾驶 world model”."),
            None,
        ),
        "digest_25_papers": (
            PaperListReply(
                "25 new papers on reward models + VLMs (week of 2025-06-02)",
                digest,
                ("and 3 more — /paper latest reward-vlm",),
            ),
            None,
        ),
        "detail_chinese_notes": (
            PaperDetailReply(
                card(0, tldr="Four linked question-answering stages, each trained with RL against its own reward model."),
                abstract=english(7, 4200),
                sections=CHINESE_NOTES,
                notes_label="Notes (Chinese), from awesome-reward-vlm.md",
            ),
            None,
        ),
        "detail_damaged_notes": (
            PaperDetailReply(
                card(1, code=False),
                abstract=english(8, 600),
                notes_label=(
                    "Notes (Chinese) were damaged by an encoding error in awesome-reward-vlm.md "
                    "and are not shown; read the abstract above instead."
                ),
                footer=("Some of this paper's text was damaged by an encoding error in its source file.",),
            ),
            None,
        ),
        "notice_topics": (
            NoticeReply(
                ("• reward-vlm (reward model + vlm): 42 papers, newest 2025-06-04", "• driving: 7 papers, newest 2025-05-27"),
                title="Topics (2)",
            ),
            None,
        ),
        "error_with_hint": (
            ErrorReply("No paper with id 2506.99999.", "Try `/paper search <words>` to find it by title."),
            None,
        ),
        "list_with_share": (
            PaperListReply("Search: reward model", tuple(card(i) for i in range(2))),
            ShareButton(value="search reward model"),
        ),
    }


GOLDEN = golden_replies()


# --- golden files ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name):
    reply, share = GOLDEN[name]
    messages = render_messages(reply, share=share)
    assert_sendable(messages)
    assert_golden(name, messages)


def test_golden_files_have_no_strays():
    if GOLDEN_DIR.exists():
        assert {p.stem for p in GOLDEN_DIR.glob("*.json")} <= set(GOLDEN)


# --- shape -----------------------------------------------------------------------------


def test_a_list_has_a_header_then_one_section_per_card_then_context():
    reply, _ = GOLDEN["list_5_papers"]
    [message] = render_messages(reply)
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header"] + ["section"] * 5 + ["context"]
    first = message["blocks"][1]["text"]["text"]
    assert first.startswith("*<https://arxiv.org/abs/2506.10000|DriveRX: A Vision-Language")
    assert "2025-06-01 · Ada Lovelace · <https://github.com/example/repo-0|code>" in first


def test_a_long_tldr_is_shortened_at_a_word_boundary_and_the_link_survives():
    reply, _ = GOLDEN["list_5_papers"]
    [message] = render_messages(reply)
    text = message["blocks"][5]["text"]["text"]
    assert len(text) <= MAX_SECTION_TEXT and text.endswith("…")
    assert text.startswith("*<https://arxiv.org/abs/2506.10004|")
    kept = words(text.split("\n", 2)[2])
    assert kept == words(reply.cards[4].tldr)[: len(kept)]


def test_the_empty_list_shows_its_empty_text():
    reply, _ = GOLDEN["list_empty"]
    [message] = render_messages(reply)
    assert message["blocks"][1]["text"]["text"] == "No papers match “自动驾驶 world model”."
    assert message["text"].startswith("Search: 自动驾驶 world model")


def test_a_split_reply_continues_with_a_context_line_and_its_own_fallback():
    reply, _ = GOLDEN["digest_25_papers"]
    messages = render_messages(reply)
    assert len(messages) >= 2
    assert messages[0]["blocks"][0]["type"] == "header"
    for k, message in enumerate(messages[1:], 2):
        first = message["blocks"][0]
        assert first["type"] == "context"
        assert first["elements"][0]["text"].endswith(f"(continued, {k}/{len(messages)})")
        assert message["text"].startswith(reply.header)
    # each fallback describes its own part: the last card is in the last message's text only
    assert reply.cards[-1].title in messages[-1]["text"]
    assert "25. " not in messages[0]["text"]
    assert "and 3 more — /paper latest reward-vlm" in visible_text(messages[-1:])


def test_every_card_of_a_split_list_is_shown_once_in_order():
    reply, _ = GOLDEN["digest_25_papers"]
    shown = re.findall(
        r"arxiv\.org/abs/(\d+\.\d+)\|", "\n".join(t for m in render_messages(reply) for t in block_texts(m["blocks"]))
    )
    assert shown == [c.arxiv_id for c in reply.cards]


def test_a_detail_has_links_abstract_label_and_one_section_per_note():
    reply, _ = GOLDEN["detail_chinese_notes"]
    messages = render_messages(reply)
    blocks = [b for m in messages for b in m["blocks"]]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": reply.card.title, "emoji": True}}
    head = blocks[1]["text"]["text"]
    assert "<https://arxiv.org/abs/2506.10000|arXiv:2506.10000v1>" in head
    assert "<https://arxiv.org/pdf/2506.10000v1|PDF>" in head and "<https://github.com/example/repo-0|Code>" in head
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    abstract_parts = [t for t in texts if t.startswith("*Abstract*")]
    assert len(abstract_parts) == 1  # 4,200 characters: the rest continues in the next section(s)
    assert " ".join(words(reply.abstract)) in " ".join(words(visible_text(messages)))
    label_index = next(i for i, b in enumerate(blocks) if b["type"] == "context")
    assert blocks[label_index + 1]["text"]["text"].startswith("*🌟 Headline*\n论文解读")
    for section in reply.sections:
        assert section.body.splitlines()[0] in visible_text(messages)


def test_damaged_notes_show_only_the_label():
    reply, _ = GOLDEN["detail_damaged_notes"]
    [message] = render_messages(reply)
    contexts = [b["elements"][0]["text"] for b in message["blocks"] if b["type"] == "context"]
    assert contexts[0].startswith("Notes (Chinese) were damaged")
    assert "PDF" in message["blocks"][1]["text"]["text"] and "Code" not in message["blocks"][1]["text"]["text"]


def test_an_error_is_a_warning_section_with_its_hint_as_context():
    reply, _ = GOLDEN["error_with_hint"]
    [message] = render_messages(reply)
    assert message["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": ":warning: No paper with id 2506.99999.", "verbatim": True}},
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": "Try `/paper search &lt;words&gt;` to find it by title.", "verbatim": True}
            ],
        },
    ]
    assert message["text"] == "No paper with id 2506.99999.\n\nTry `/paper search &lt;words&gt;` to find it by title."


def test_the_share_button_goes_on_the_last_message_only():
    share = ShareButton(value="latest reward-vlm")
    messages = render_messages(PaperListReply("Latest", tuple(card(i, tldr=prose(i, 900)) for i in range(40))), share=share)
    assert len(messages) > 1
    assert_sendable(messages)
    for message in messages[:-1]:
        assert all(b["type"] != "actions" for b in message["blocks"])
    button = messages[-1]["blocks"][-1]["elements"][0]
    assert button["action_id"] == "paperbot_share" and button["value"] == "latest reward-vlm"
    assert button["text"]["text"] == "Share in channel"


def test_the_share_button_counts_toward_the_block_limit():
    reply = PaperListReply("Many", tuple(card(i, tldr="short", code=False, authors=()) for i in range(MAX_BLOCKS - 1)))
    messages = render_messages(reply, share=ShareButton(value="latest"))
    assert_sendable(messages)
    assert all(len(m["blocks"]) <= MAX_BLOCKS for m in messages)


def test_a_share_value_longer_than_slack_allows_is_refused_early():
    with pytest.raises(ValueError):
        ShareButton(value="x" * 2001)
    with pytest.raises(ValueError):
        ShareButton(value="")


def test_digest_metadata():
    assert digest_metadata(7, "2025-W23") == {
        "event_type": "paperbot_digest",
        "event_payload": {"subscription": 7, "period": "2025-W23"},
    }
    assert check_message_limits({"text": "x", "metadata": digest_metadata("s1", "2025-W23")}) == []


# --- limits ----------------------------------------------------------------------------


def test_sixty_papers_become_several_messages_and_lose_nothing():
    reply = PaperListReply("Latest: reward-vlm", tuple(card(i, tldr=prose(i, 400)) for i in range(60)), ("60 papers",))
    messages = render_messages(reply)
    assert len(messages) >= 3
    assert_sendable(messages)
    seen = words(visible_text(messages))
    for c in reply.cards:
        assert is_subsequence(words(c.title + " " + c.tldr), seen)


def test_a_20000_character_abstract_is_split_at_word_boundaries():
    abstract = prose(1, 20_000)
    messages = render_messages(PaperDetailReply(card(0), abstract=abstract))
    assert len(messages) >= 2
    assert_sendable(messages)
    assert is_subsequence(words(abstract), words(visible_text(messages)))


def test_a_500_character_title_is_kept_whole():
    title = prose(2, 500)[:500].rsplit(" ", 1)[0]
    detail = render_messages(PaperDetailReply(card(0, title=title)))
    listed = render_messages(PaperListReply("Latest", (card(0, title=title),)))
    for messages in (detail, listed):
        assert_sendable(messages)
        assert is_subsequence(words(title), words(visible_text(messages)))
    assert len(detail[0]["blocks"][0]["text"]["text"]) <= MAX_HEADER_TEXT
    assert detail[0]["blocks"][0]["text"]["text"].endswith("…")


def test_10000_characters_of_chinese_without_spaces_are_split_between_characters():
    body = ("自动驾驶系统需要可靠的奖励模型来评估视觉语言推理的每一步" * 400)[:10_000]
    messages = render_messages(PaperDetailReply(card(0), sections=(DetailSection("🚀 Method", body),)))
    assert_sendable(messages)
    assert body in no_space(visible_text(messages))


def test_a_5000_character_word_is_hard_cut_but_nothing_is_lost():
    word = "x" * 5000
    abstract = f"Before the word. {word} after the word."
    messages = render_messages(PaperDetailReply(card(0), abstract=abstract))
    assert_sendable(messages)
    seen = visible_text(messages)
    assert word in no_space(seen)  # cut across sections (documented), but every character is there
    assert is_subsequence(["Before", "the", "word", "after", "the", "word"], words(seen))
    # documented: in a list card the title label is shortened rather than the section overflowing
    listed = render_messages(PaperListReply("Latest", (card(0, title=word, tldr=word),)))
    assert_sendable(listed)


def test_a_4000_character_url_is_never_cut_it_is_just_not_linked():
    url = "https://example.org/" + "a" * 3980
    reply = PaperListReply("Latest", (card(0, url=url, code_url=url),))
    messages = render_messages(reply)
    assert_sendable(messages)
    text = visible_text(messages)
    assert "example.org" not in "\n".join(t for m in messages for t in block_texts(m["blocks"]))
    assert is_subsequence(words(reply.cards[0].title), words(text))
    assert_sendable(render_messages(PaperDetailReply(card(0, url=url, code_url=url, pdf_url=url))))


def test_a_long_header_query_is_shortened_and_then_shown_in_full():
    query = prose(3, 600)
    [message] = render_messages(PaperListReply(f"Search: {query}", (card(0),)))
    assert_sendable([message])
    header = message["blocks"][0]["text"]["text"]
    assert len(header) <= MAX_HEADER_TEXT and header.endswith("…")
    assert is_subsequence(words(query), words(visible_text([message])))


def test_thousands_of_authors_and_notice_lines_stay_within_limits():
    authors = tuple(f"Author Number{i}" for i in range(3000))
    assert_sendable(render_messages(PaperDetailReply(card(0, authors=authors))))
    assert_sendable(render_messages(PaperListReply("x", (card(0, authors=authors),))))
    lines = tuple(f"• line {i}: " + prose(i, 120) for i in range(800))
    messages = render_messages(NoticeReply(lines, title="Help"))
    assert len(messages) > 1
    assert_sendable(messages)
    assert is_subsequence(words(" ".join(lines)), words(visible_text(messages)))


def test_many_footer_lines_and_empty_replies_are_still_sendable():
    assert_sendable(render_messages(PaperListReply("", (), footer=tuple(prose(i, 400) for i in range(80)), empty_text="")))
    assert_sendable(render_messages(NoticeReply(())))
    assert_sendable(render_messages(ErrorReply("")))
    assert_sendable(render_messages(PaperDetailReply(card(0, title="", tldr="", authors=(), topics=()))))


# --- escaping --------------------------------------------------------------------------


def test_escape_mrkdwn_text():
    assert escape_mrkdwn_text("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert escape_mrkdwn_text("<!channel> <@U123>") == "&lt;!channel&gt; &lt;@U123&gt;"
    assert escape_mrkdwn_text("ping @here and @channel") == "ping @\u2060here and @\u2060channel"
    assert escape_mrkdwn_text("*bold* _it_ ~s~ `c`") == "*bold* _it_ ~s~ `c`"  # readable, harmless


def hostile_replies(bad: str) -> list:
    hostile_card = card(0, title=f"Title {bad}", authors=(f"Author {bad}",), tldr=f"TLDR {bad}", topics=(bad,))
    return [
        PaperListReply(f"Search: {bad}", (hostile_card,), (f"footer {bad}",)),
        PaperListReply(f"Search: {bad}", (), empty_text=f"No papers match {bad}"),
        PaperDetailReply(
            hostile_card,
            abstract=f"Abstract {bad}",
            sections=(DetailSection(f"Heading {bad}", f"Body {bad}"),),
            notes_label=f"Notes {bad}",
            footer=(bad,),
        ),
        NoticeReply((f"line {bad}",), title=f"Title {bad}"),
        ErrorReply(f"Error {bad}", f"Hint {bad}"),
    ]


@pytest.mark.parametrize("bad", HOSTILE)
def test_paper_text_can_never_ping_or_form_markup(bad):
    escaped = bad.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for reply in hostile_replies(bad):
        messages = render_messages(reply)
        assert_sendable(messages)
        shown = "\n".join(t for m in messages for t in block_texts(m["blocks"]))
        assert escaped in shown
        assert escaped in messages[0]["text"]


def test_only_http_urls_become_links_and_they_cannot_break_the_markup():
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("ftp://example.org/x") is None
    assert safe_url("https://") is None
    assert safe_url("https://example.org/a|b>c<d e") == "https://example.org/a%7Cb%3Ec%3Cd%20e"
    assert safe_url("https://example.org/?a=1&b=2") == "https://example.org/?a=1&amp;b=2"
    assert safe_url("https://example.org/" + "a" * MAX_LINK_URL) is None
    [message] = render_messages(PaperListReply("x", (card(0, url="javascript:alert(1)", code_url="data:text/html,x"),)))
    text = message["blocks"][1]["text"]["text"]
    assert text.startswith("*DriveRX") and "javascript" not in text and "code" not in text.split("\n")[1]
    [message] = render_messages(PaperListReply("x", (card(0, url="https://evil.example/|<!channel>"),)))
    assert_sendable([message])


# --- properties ------------------------------------------------------------------------

fragments = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<@U1>",
        "<#C1|x>",
        "<https://evil.example|click>",
        "&amp;",
        "&",
        "<",
        ">",
        "|",
        "*",
        "@here",
        " ",
        "\n",
        "\n\n",
        "中文",
    ]
)
hostile_text = st.lists(st.one_of(st.text(max_size=40), fragments), max_size=30).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=hostile_text, tldr=hostile_text, abstract=hostile_text, header=hostile_text, url=st.text(max_size=30))
def test_property_any_text_renders_within_limits_and_inert(title, tldr, abstract, header, url):
    hostile_card = card(0, title=title, tldr=tldr, authors=(title,), code_url="https://x.example/" + url)
    replies = [
        PaperListReply(header, (hostile_card,) * 3, (tldr,)),
        PaperDetailReply(hostile_card, abstract=abstract, sections=(DetailSection(title, abstract),), notes_label=tldr),
        NoticeReply((abstract, tldr), title=header),
        ErrorReply(title, tldr),
    ]
    for reply in replies:
        assert_sendable(render_messages(reply, share=ShareButton(value="x")))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=90), st.integers(min_value=0, max_value=3000), st.integers(0, 3))
def test_property_any_size_of_list_fits(count, tldr_size, footer_lines):
    reply = PaperListReply(
        "Latest", tuple(card(i, tldr=prose(i, tldr_size)) for i in range(count)), tuple("more" for _ in range(footer_lines))
    )
    messages = render_messages(reply)
    assert_sendable(messages)
    assert all(len(m["blocks"]) <= MAX_BLOCKS for m in messages)
    assert all(sum(map(len, block_texts(m["blocks"]))) <= MAX_MESSAGE_CHARS for m in messages)


# --- the checker itself ----------------------------------------------------------------


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(value: str = "v", text: str = "Share") -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": "a", "value": value}


OK = {"text": "fallback", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "Hi"}}, section("x")]}


@pytest.mark.parametrize(
    "message, expected",
    [
        ({"text": "t", "blocks": [section("x")] * 51}, "51 blocks"),
        ({"text": "t", "blocks": [section("x" * 3001)]}, "3001 characters > 3000"),
        ({"text": "t", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]}, "> 150"),
        ({"text": "t", "blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]}, "plain_text"),
        ({"text": "t", "blocks": [section("x" * 2900)] * 5}, "characters of block text > 12000"),
        ({"text": "t", "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}]}, "fields"),
        ({"text": "t", "blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}]}, "> 2000"),
        ({"text": "t", "blocks": [section("")]}, "empty text"),
        ({"text": "t", "blocks": [{"type": "section"}]}, "neither text nor fields"),
        ({"blocks": [section("x")]}, "no plain-text fallback"),
        ({"text": "  ", "blocks": [section("x")]}, "no plain-text fallback"),
        ({"text": "t" * 3001, "blocks": [section("x")]}, "text is 3001 characters"),
        ({"text": "t" * 4001}, "text is 4001 characters"),
        ({"text": "t", "blocks": [{"type": "actions", "elements": [button("v" * 2001)]}]}, "button value"),
        ({"text": "t", "blocks": [{"type": "actions", "elements": [button(text="b" * 76)]}]}, "button text"),
        ({"text": "t", "blocks": [{"type": "actions", "elements": []}]}, "elements"),
        ({"text": "t", "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}]}, "elements"),
        ({"text": "t", "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 3001}]}]}, "> 3000"),
        ({"text": "t", "blocks": [{"type": "fancy"}]}, "unknown block type"),
        ({"text": "t", "blocks": [dict(section("a"), block_id="b"), dict(section("c"), block_id="b")]}, "duplicate block_id"),
        ({"text": "t", "blocks": "not json"}, "blocks is not a list"),
        ({"text": "t", "metadata": {"event_type": "bad type!", "event_payload": {}}}, "event_type"),
        ({"text": "t", "metadata": {"event_type": "ok"}}, "event_payload"),
        ("not a message", "not a mapping"),
    ],
)
def test_check_message_limits_flags_each_violation(message, expected):
    problems = check_message_limits(message)
    assert any(expected in p for p in problems), problems


def test_check_message_limits_accepts_a_good_message_also_as_form_encoded_json():
    assert check_message_limits(OK) == []
    assert check_message_limits({"text": OK["text"], "blocks": json.dumps(OK["blocks"])}) == []
    assert check_message_limits({"text": "plain text only"}) == []


def test_find_mentions_sees_raw_mentions_but_not_button_values():
    message = {
        "text": "hi <!here>",
        "blocks": [section("<@U1> and &lt;!channel&gt;"), {"type": "actions", "elements": [button("<!channel>")]}],
    }
    assert find_mentions(message) == ["<!here>", "<@U1>"]
