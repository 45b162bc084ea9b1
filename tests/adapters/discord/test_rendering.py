"""Discord rendering: golden payloads, Discord's limits, escaping and the payload checker.

Golden files live in tests/golden/discord/; `UPDATE_GOLDEN=1 pytest tests/adapters/discord/test_rendering.py`
rewrites them (read the diff before committing it).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from urllib.parse import unquote

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.render import (
    ZWSP,
    check_message_limits,
    escape_text,
    forum_post_title,
    message_payload,
    nonce_for,
    render_messages,
    safe_url,
    to_send_kwargs,
)
from bot.models import DetailSection, ErrorReply, NoticeReply, PaperCard, PaperDetailReply, PaperListReply
from tests.support import ROOT

GOLDEN = ROOT / "tests" / "golden" / "discord"
NO_PINGS = {"parse": []}


# --- fixtures: a fixed set of replies --------------------------------------------------


def card(number: int, **changes) -> PaperCard:
    arxiv_id = f"2506.{3500 + number:05d}"
    values = dict(
        arxiv_id=arxiv_id,
        title=f"Paper {number}: Reward Models for Vision-Language Agents",
        url=f"https://arxiv.org/abs/{arxiv_id}",
        published=f"2025-06-{number % 28 + 1:02d}",
        authors=(f"Author {number}", "Li Wei", "Maria García", "J. Smith"),
        code_url=f"https://github.com/lab/paper-{number}",
        tldr=f"Paper {number} trains a reward model on preference pairs and uses it to rank agent trajectories.",
        version=1,
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}v1",
        topics=("reward-vlm",),
    )
    values.update(changes)
    return PaperCard(**values)


LONG_TLDR = (
    "We introduce VL-RewardBench, a benchmark of 1,250 hand-checked preference pairs spanning captioning, "
    "visual question answering and multi-step reasoning, and use it to show that today's vision-language "
    "reward models reward fluent but ungrounded answers. A simple recipe (grounding-aware negatives, a "
    "rationale-first training target and length-balanced batches) closes most of the gap: our 7B model "
    "beats a 72B baseline by 9.4 points, and policies trained with it hallucinate 31% less on POPE. "
    "Code, data and checkpoints are released under an open licence."
)

FIVE_PAPERS = PaperListReply(
    header="5 newest papers on reward models + VLMs",
    cards=(
        card(1, title="DriveRX: Reward Models for Autonomous Driving with Vision-Language Feedback"),
        card(2, tldr=LONG_TLDR, code_url="https://github.com/lab/vl_reward_bench"),
        card(3, authors=("Only Author",), code_url=None),
        card(4, title="Process Reward Models\n  for Multimodal Reasoning", authors=()),
        card(5, code_url="https://huggingface.co/spaces/lab/demo (demo)."),
    ),
    footer=("Showing 5 of 42 papers on reward-vlm.",),
)

EMPTY_LIST = PaperListReply(header="Search results for 'zebra'", empty_text="No papers match 'zebra'.")

DIGEST_25 = PaperListReply(
    header="25 new papers on Reward models + VLMs — 2025-W23",
    cards=tuple(card(n) for n in range(1, 26)),
    footer=("and 3 more — /paper latest reward-vlm",),
)

ABSTRACT_SENTENCES = (
    "Reward models are the bottleneck of aligning vision-language models with human preferences.",
    "Existing reward models are trained on text-only preference data and transfer poorly to images.",
    "We collect a preference data set with fine-grained, region-level annotations of hallucinations.",
    "Our reward model predicts a score for every sentence of a response, not only for the whole answer.",
    "Experiments on six benchmarks show consistent gains over strong open and proprietary baselines.",
)
LONG_ABSTRACT = " ".join(
    f"{sentence[:-1]} (part {part})." for part in range(1, 11) for sentence in ABSTRACT_SENTENCES
)

CHINESE_SECTIONS = (
    DetailSection("🌟 Headline", "用细粒度的奖励模型让视觉语言模型少说“看不见的东西”。"),
    DetailSection(
        "📌 Motivation",
        "现有的多模态奖励模型大多只在整段回答上打分，无法指出哪一句话出现了幻觉；"
        "而且训练数据主要来自纯文本偏好数据，迁移到图像场景时效果很差。",
    ),
    DetailSection("🚀 Method", "1. 收集区域级别的幻觉标注；2. 训练逐句打分的奖励模型；3. 用 PPO 微调策略模型。" * 30),
    DetailSection("📈 Results", "在 POPE、MMHal 等六个基准上，幻觉率平均下降 31%，通用能力基本不变。"),
    DetailSection("💬 Takeaways", "逐句奖励比整段奖励更有效；数据质量比模型规模更重要。"),
)

DETAIL_CHINESE = PaperDetailReply(
    card=card(7, title="Fine-Grained Reward Models Reduce Hallucination in Vision-Language Models", version=2,
              pdf_url="https://arxiv.org/pdf/2506.03507v2", topics=("reward-vlm", "hallucination")),
    abstract=LONG_ABSTRACT,
    sections=CHINESE_SECTIONS,
    notes_label="Notes (Chinese), from reward-vlm-papers.md",
    footer=("Use /paper search to find related papers.",),
)

DETAIL_DAMAGED = PaperDetailReply(
    card=card(8, tldr=""),
    abstract="A short abstract about reward models.",
    sections=(),
    notes_label=(
        "Notes (Chinese) were damaged by an encoding error in reward-vlm-papers.md "
        "and are not shown; read the abstract above instead."
    ),
)

NOTICE = NoticeReply(
    ("• reward-vlm (Reward models + VLMs): 42 papers, newest 2025-06-04", "• driving: 7 papers, newest 2025-05-30"),
    title="Topics (2)",
)

ERROR = ErrorReply("Unknown topic 'rewrd-vlm'.", "Known topics: reward-vlm, driving. See /paper topics.")

GOLDEN_REPLIES = {
    "list_five_papers": FIVE_PAPERS,
    "list_empty": EMPTY_LIST,
    "list_digest_25": DIGEST_25,
    "detail_chinese_notes_long_abstract": DETAIL_CHINESE,
    "detail_damaged_notes": DETAIL_DAMAGED,
    "notice_topics": NOTICE,
    "error_with_hint": ERROR,
}


# --- helpers ------------------------------------------------------------------------------


def texts_of(messages: list[dict]) -> list[str]:
    """Every string a reader can see, in order."""
    texts = []
    for item in messages:
        texts.append(item["content"])
        for embed in item["embeds"]:
            texts += [embed.get("title", ""), embed.get("url", ""), embed.get("description", "")]
            for field in embed.get("fields", ()):
                texts += [field["name"], field["value"]]
            texts.append(embed.get("footer", {}).get("text", ""))
    return texts


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text.replace(ZWSP, ""), flags=re.S)


def visible_text(messages: list[dict]) -> str:
    # Link targets are percent-encoded where spaces or parentheses would break them.
    return unquote(unescape("\n".join(texts_of(messages))))


def assert_all_valid(messages: list[dict]) -> None:
    assert messages
    for item in messages:
        assert check_message_limits(item) == [], check_message_limits(item)
        assert item["allowed_mentions"] == NO_PINGS


def assert_words_kept(messages: list[dict], *texts: str) -> None:
    shown = visible_text(messages)
    missing = [word for text in texts for word in text.split() if word not in shown]
    assert missing == []


def input_texts(reply) -> list[str]:
    """The words a reply carries (not the labels a renderer adds, such as "PDF:")."""
    if isinstance(reply, PaperListReply):
        cards = reply.cards
        texts = [reply.header, *reply.footer] + ([] if cards else [reply.empty_text])
    elif isinstance(reply, PaperDetailReply):
        cards = (reply.card,)
        texts = [reply.abstract, reply.notes_label or "", *reply.footer, *(s.heading + " " + s.body for s in reply.sections)]
        texts += [reply.card.pdf_url, ", ".join(reply.card.topics), reply.card.published]
    elif isinstance(reply, NoticeReply):
        cards, texts = (), [reply.title or "", *reply.lines]
    else:
        cards, texts = (), [reply.message, reply.hint or ""]
    for paper in cards:
        texts += [paper.title, paper.arxiv_id, paper.url, paper.code_url or "", paper.tldr, ", ".join(paper.authors[:3])]
    return texts


def descriptions(messages: list[dict]) -> list[str]:
    return [embed.get("description", "") for item in messages for embed in item["embeds"]]


# --- golden files ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN_REPLIES))
def test_rendering_matches_golden_file(name):
    rendered = json.dumps(render_messages(GOLDEN_REPLIES[name]), ensure_ascii=False, indent=2) + "\n"
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    if rendered != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), rendered.splitlines(True), f"golden/{name}.json", "rendered"
            )
        )
        pytest.fail(f"rendering differs from {path.name} (UPDATE_GOLDEN=1 to accept):\n{diff}")


@pytest.mark.parametrize("name", sorted(GOLDEN_REPLIES))
def test_golden_replies_are_valid_and_keep_every_word(name):
    reply = GOLDEN_REPLIES[name]
    messages = render_messages(reply)
    assert_all_valid(messages)
    assert_words_kept(messages, *input_texts(reply))


def test_digest_of_25_papers_is_three_messages_header_first_then_continued():
    messages = render_messages(DIGEST_25)
    assert [len(item["embeds"]) for item in messages] == [10, 10, 5]
    assert messages[0]["content"] == "25 new papers on Reward models + VLMs — 2025-W23"
    assert [item["content"] for item in messages[1:]] == ["(continued 2/3)", "(continued 3/3)"]
    assert messages[-1]["embeds"][-1]["footer"] == {"text": "and 3 more — /paper latest reward-vlm"}
    titles = [embed["title"] for item in messages for embed in item["embeds"]]
    assert titles == [c.title for c in DIGEST_25.cards]


def test_a_paper_card_links_its_title_and_code():
    embed = render_messages(FIVE_PAPERS)[0]["embeds"][0]
    assert embed["url"] == "https://arxiv.org/abs/2506.03501"
    assert "[code](https://github.com/lab/paper-1)" in embed["description"]
    spaced = render_messages(FIVE_PAPERS)[0]["embeds"][4]["description"]
    assert "[code](https://huggingface.co/spaces/lab/demo%20%28demo%29.)" in spaced


def test_to_send_kwargs_gives_discord_objects_and_no_mentions():
    for item in render_messages(DETAIL_CHINESE) + render_messages(EMPTY_LIST):
        kwargs = to_send_kwargs(item)
        assert set(kwargs) == {"content", "embeds", "allowed_mentions"}
        assert kwargs["allowed_mentions"].to_dict() == NO_PINGS
        assert all(isinstance(embed, discord.Embed) for embed in kwargs["embeds"])
        for embed, source in zip(kwargs["embeds"], item["embeds"], strict=True):
            as_dict = embed.to_dict()
            assert {key: as_dict[key] for key in source} == source
        assert kwargs["content"] == (item["content"] or None)


# --- Discord's limits ------------------------------------------------------------------------


def test_sixty_papers_split_into_messages_of_at_most_ten_embeds():
    reply = PaperListReply("60 papers", tuple(card(n, tldr=LONG_TLDR) for n in range(60)), ("footer line",))
    messages = render_messages(reply)
    assert_all_valid(messages)
    assert sum(len(item["embeds"]) for item in messages) == 60
    assert len(messages) >= 6
    assert_words_kept(messages, *input_texts(reply))


def test_twenty_thousand_character_abstract_goes_over_several_embeds():
    abstract = " ".join(f"Sentence {n} explains part {n} of the method in detail." for n in range(400))
    assert len(abstract) > 20_000
    reply = PaperDetailReply(card(1), abstract=abstract, sections=CHINESE_SECTIONS, notes_label="Notes (Chinese)")
    messages = render_messages(reply)
    assert_all_valid(messages)
    assert_words_kept(messages, *input_texts(reply))
    assert max(len(d) for d in descriptions(messages)) <= 4096


def test_five_hundred_character_title_is_shortened_at_a_word_and_kept_whole_below():
    title = " ".join(f"word{n}" for n in range(90))
    assert len(title) > 500
    for reply in (PaperListReply("h", (card(1, title=title),)), PaperDetailReply(card(1, title=title))):
        messages = render_messages(reply)
        assert_all_valid(messages)
        embed = messages[0]["embeds"][0]
        assert len(embed["title"]) <= 256 and embed["title"].endswith("…")
        assert all(word in title.split() for word in embed["title"][:-1].split())
        assert f"**{title}**" in embed["description"]
        assert_words_kept(messages, *input_texts(reply))


def test_ten_thousand_character_chinese_section_continues_in_fields_and_embeds():
    body = "".join(f"第{n}段：奖励模型逐句打分，减少幻觉。" for n in range(700))
    assert len(body) > 10_000
    reply = PaperDetailReply(card(1), sections=(DetailSection("🚀 Method", body),), notes_label="Notes (Chinese)")
    messages = render_messages(reply)
    assert_all_valid(messages)
    fields = [f for item in messages for embed in item["embeds"] for f in embed.get("fields", ())]
    method = [f for f in fields if f["name"].startswith("🚀 Method")]
    assert method[0]["name"] == "🚀 Method" and {f["name"] for f in method[1:]} == {"🚀 Method (cont.)"}
    assert "".join(f["value"] for f in method) == body
    # Cuts fall after a sentence, never inside one.
    assert all(f["value"].endswith("。") for f in method)


def test_five_thousand_character_word_is_the_only_thing_hard_cut_and_nothing_is_lost():
    word = "x" * 5000
    reply = PaperListReply("h", (card(1, tldr=f"Before {word} after."),))
    messages = render_messages(reply)
    assert_all_valid(messages)
    joined = "".join(descriptions(messages))
    assert word in joined
    assert_words_kept(messages, "Before after.", card(1).title)


def test_four_thousand_character_url_is_never_cut():
    url = "https://example.org/" + "a" * 3980
    reply = PaperListReply("h", (card(1, url=url, code_url=url, tldr=f"See {url} for details."),))
    messages = render_messages(reply)
    assert_all_valid(messages)
    shown = descriptions(messages)
    assert any(f"[arXiv]({url})" in d for d in shown)
    assert any(f"[code]({url})" in d for d in shown)
    assert any(url in d and "[" not in d for d in shown)  # the bare one in the TLDR
    assert "url" not in messages[0]["embeds"][0]  # too long to be a title link
    detail = render_messages(PaperDetailReply(card(1, code_url=url)))
    assert_all_valid(detail)
    assert any(f"[Code]({url})" in d for d in descriptions(detail))


def test_very_long_header_and_footer_still_fit():
    header = " ".join(["header"] * 700)
    footer = tuple(" ".join([f"foot{n}"] * 100) for n in range(40))
    reply = PaperListReply(header, (card(1),), footer)
    messages = render_messages(reply)
    assert_all_valid(messages)
    assert_words_kept(messages, *input_texts(reply))


def test_less_than_and_greater_than_in_prose_do_not_force_a_cut_inside_a_word():
    body = "Error drops (<5%) " + " ".join(f"word{n}" for n in range(300)) + " in most cases (>90%)."
    reply = PaperDetailReply(card(1), sections=(DetailSection("📈 Results", body),))
    messages = render_messages(reply)
    assert_all_valid(messages)
    values = [
        f["value"]
        for item in messages
        for embed in item["embeds"]
        for f in embed.get("fields", ())
        if f["name"].startswith("📈 Results")
    ]
    shown = " ".join(unescape(value) for value in values).split()
    assert shown == body.split()


# --- property: any text gives valid, ping-free payloads -----------------------------------------

HOSTILE = st.sampled_from(
    [
        "@everyone", "@here", "<@123>", "<@!123456789012345678>", "<@&123456789012345678>", "<#42>",
        "**", "__", "`", "```", "~~", "||", "> ", "# ", "-# ", "\n", "\n\n", " ", "[x](https://e.com/a)",
        "https://example.org/a_b*c~d", "<https://x.y/@everyone>", "自动驾驶", "奖励模型。", "\\", "😀", "👩‍💻",
        "x" * 300, "word " * 60,
    ]
)
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=30)), max_size=60).map("".join)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=TEXT, tldr=TEXT, abstract=TEXT, note=TEXT, header=TEXT, footer=TEXT, authors=st.lists(TEXT, max_size=4))
def test_any_text_renders_to_valid_payloads_without_mentions(title, tldr, abstract, note, header, footer, authors):
    paper = card(1, title=title, tldr=tldr, authors=tuple(authors), code_url=title or None)
    replies = [
        PaperListReply(header, (paper,) * 3, (footer,)),
        PaperDetailReply(paper, abstract, (DetailSection(note[:40], note),), note or None, (footer,)),
        NoticeReply((abstract, note), title=title),
        ErrorReply(title, tldr),
    ]
    for reply in replies:
        messages = render_messages(reply)
        assert_all_valid(messages)
        dumped = json.dumps(messages, ensure_ascii=False)
        assert "@everyone" not in dumped and "@here" not in dumped and "<@" not in dumped


# --- escaping ------------------------------------------------------------------------------

MARKUP = "**bold** _x_ `code` ~~s~~ @everyone <@123>"
ESCAPED = r"\*\*bold\*\* \_x\_ \`code\` \~\~s\~\~ @" + ZWSP + "everyone <" + ZWSP + "@123>"


def test_escape_text_escapes_markdown_and_neutralises_mentions():
    assert escape_text(MARKUP) == ESCAPED
    assert escape_text("> quote") == r"\> quote"
    assert escape_text("@here <#99> <@&5>") == f"@{ZWSP}here <{ZWSP}#99> <{ZWSP}@&5>"
    assert escape_text("see https://x.org/a_b_c") == "see https://x.org/a_b_c"  # links stay intact
    # discord.utils takes `<…:/…>` for a link; a mention hidden inside one is still broken.
    assert "<@" not in escape_text("<[x](https://e.com/a)<@123>")
    assert escape_text("<https://x.org/@everyone>") == "<https://x.org/%40everyone>"


def test_markup_in_every_paper_field_is_escaped():
    paper = card(1, title=MARKUP, authors=(MARKUP,), tldr="> quote " + MARKUP)
    embed = render_messages(PaperListReply(MARKUP, (paper,)))[0]["embeds"][0]
    assert render_messages(PaperListReply(MARKUP, (paper,)))[0]["content"] == ESCAPED
    assert embed["title"] == ESCAPED
    assert f"· {ESCAPED}" in embed["description"]  # authors
    assert "\n\\> quote " + ESCAPED in embed["description"]  # TLDR
    detail = render_messages(
        PaperDetailReply(paper, abstract=MARKUP, sections=(DetailSection(MARKUP, MARKUP),), notes_label=MARKUP)
    )
    embeds = [embed for item in detail for embed in item["embeds"]]
    assert embeds[0]["fields"][0] == {"name": "Authors", "value": ESCAPED, "inline": False}
    assert embeds[1]["description"] == ESCAPED
    assert embeds[2]["title"] == ESCAPED
    assert embeds[2]["fields"] == [{"name": ESCAPED, "value": ESCAPED, "inline": False}]
    for text in (NoticeReply((MARKUP,), title=MARKUP), ErrorReply(MARKUP, MARKUP)):
        embed = render_messages(text)[0]["embeds"][0]
        assert embed["title"] == ESCAPED and embed["description"] == ESCAPED


def test_footer_is_not_markdown_so_only_mentions_are_neutralised():
    footer = render_messages(PaperListReply("h", (card(1),), ("**x** @everyone",)))[0]["embeds"][0]["footer"]
    assert footer == {"text": f"**x** @{ZWSP}everyone"}


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://github.com/a/b", "https://github.com/a/b"),
        ("  http://x.org/a b(c)  ", "http://x.org/a%20b%28c%29"),
        ("https://x.org/@everyone/@here", "https://x.org/%40everyone/%40here"),
        ("javascript:alert(1)", None),
        ("github.com/a/b", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url_keeps_http_links_and_encodes_what_would_break_markdown(url, expected):
    assert safe_url(url) == expected


def test_unlinkable_code_url_is_shown_as_escaped_text():
    description = render_messages(PaperListReply("h", (card(1, code_url="ftp://x_y"),)))[0]["embeds"][0]["description"]
    assert "code: ftp://x\\_y" in description


# --- the checker ----------------------------------------------------------------------------


def ok_message(**changes) -> dict:
    payload = {
        "content": "hello",
        "embeds": [{"title": "t", "description": "d", "color": 1, "fields": [{"name": "n", "value": "v", "inline": True}],
                    "footer": {"text": "f"}, "author": {"name": "a"}}],
        "allowed_mentions": {"parse": []},
    }
    payload.update(changes)
    return payload


def embed_with(**changes) -> dict:
    return {**ok_message()["embeds"][0], **changes}


VIOLATIONS = {
    "content": ok_message(content="x" * 2001),
    "embeds[0].title": ok_message(embeds=[embed_with(title="x" * 257)]),
    "embeds[0].description": ok_message(embeds=[embed_with(description="x" * 4097)]),
    "embeds[0].fields: 26": ok_message(embeds=[embed_with(fields=[{"name": "n", "value": "v"}] * 26)]),
    "embeds[0].fields[0].name": ok_message(embeds=[embed_with(fields=[{"name": "x" * 257, "value": "v"}])]),
    "embeds[0].fields[0].value": ok_message(embeds=[embed_with(fields=[{"name": "n", "value": "x" * 1025}])]),
    "embeds[0].fields[0].value: empty": ok_message(embeds=[embed_with(fields=[{"name": "n", "value": ""}])]),
    "embeds[0].footer.text": ok_message(embeds=[embed_with(footer={"text": "x" * 2049})]),
    "embeds[0].author.name": ok_message(embeds=[embed_with(author={"name": "x" * 257})]),
    "embeds[0].url": ok_message(embeds=[embed_with(url="javascript:alert(1)")]),
    "embeds[0].color": ok_message(embeds=[embed_with(color=0x1000000)]),
    "embeds[0]: empty embed": ok_message(embeds=[{"color": 1}]),
    "embeds: 11 embeds": ok_message(embeds=[embed_with()] * 11),
    "over all embeds": ok_message(embeds=[embed_with(description="x" * 4000)] * 2),
    "allowed_mentions: missing": {k: v for k, v in ok_message().items() if k != "allowed_mentions"},
    "allowed_mentions.parse": ok_message(allowed_mentions={"parse": ["everyone"]}),
    "allowed_mentions.users": ok_message(allowed_mentions={"parse": [], "users": ["123"]}),
    "allowed_mentions.roles": ok_message(allowed_mentions={"parse": [], "roles": ["123"]}),
    "allowed_mentions.replied_user": ok_message(allowed_mentions={"parse": [], "replied_user": True}),
    "content: raw mention '@everyone'": ok_message(content="hi @everyone"),
    "embeds[0].description: raw mention '<@'": ok_message(embeds=[embed_with(description="hi <@123>")]),
    "nonce": ok_message(nonce="x" * 26),
    "embeds[0].url: 2049": ok_message(embeds=[embed_with(url="https://x.org/" + "a" * 2035)]),
    "message is empty": {"content": "", "embeds": [], "allowed_mentions": {"parse": []}},
    "components[0]": ok_message(components=[{"type": 1, "components": [{"type": 2, "label": "x" * 81, "custom_id": "p"}] * 6}]),
}


def test_checker_accepts_messages_exactly_at_the_limits():
    big = {"title": "t" * 256, "description": "d" * 4096, "fields": [{"name": "n", "value": "v" * 1024}],
           "author": {"name": "a"}, "footer": {"text": "f" * 622}, "url": "https://x.org/" + "a" * 2034}
    assert check_message_limits(ok_message(content="x" * 2000, embeds=[big], nonce="n" * 25)) == []
    many = [embed_with(fields=[{"name": "n", "value": "v"}] * 25)] + [embed_with()] * 9
    assert check_message_limits(ok_message(embeds=many)) == []
    assert check_message_limits(ok_message(content="", nonce=12345678901234567890)) == []


@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_checker_flags_each_violation(kind):
    problems = check_message_limits(VIOLATIONS[kind])
    assert any(problem.startswith(kind) or kind in problem for problem in problems), problems


def test_checker_unwraps_interaction_callbacks_and_forum_posts():
    good, bad = ok_message(), ok_message(content="x" * 2001)
    assert check_message_limits({"type": 4, "data": good}) == []
    assert check_message_limits({"type": 4, "data": bad})
    assert check_message_limits({"type": 7, "data": {"components": [], "allowed_mentions": {"parse": []}}}) == []
    assert check_message_limits({"type": 4}) != []
    assert check_message_limits({"type": 1}) == [] and check_message_limits({"type": 5, "data": {"flags": 64}}) == []
    assert check_message_limits({"name": "Reward models — 2025-W23", "message": good}) == []
    assert any(p.startswith("name") for p in check_message_limits({"name": "x" * 101, "message": good}))
    assert check_message_limits({"name": "ok", "message": bad})
    assert message_payload({"type": 4, "data": good}) is good
    assert message_payload({"name": "t", "message": good}) is good
    assert message_payload({"type": 5}) is None
    assert check_message_limits("not a dict") and check_message_limits({"type": 4, "data": []})


def test_checker_accepts_real_discord_py_payloads():
    for item in render_messages(DETAIL_CHINESE):
        kwargs = to_send_kwargs(item)
        payload = {
            "content": kwargs["content"],
            "embeds": [embed.to_dict() for embed in kwargs["embeds"]],
            "allowed_mentions": kwargs["allowed_mentions"].to_dict(),
        }
        assert check_message_limits(payload) == []


# --- forum titles and nonces ----------------------------------------------------------------


def test_forum_post_title_names_topic_and_period_within_100_characters():
    assert forum_post_title("Reward models + VLMs", "2025-W23") == "Reward models + VLMs — 2025-W23"
    long = forum_post_title("Reward models " * 20, "2025-W23")
    assert len(long) <= 100 and long.endswith("… — 2025-W23")
    assert len(forum_post_title("x" * 300, "y" * 300)) <= 100
    assert forum_post_title("", "2025-W23") == "2025-W23"
    assert forum_post_title("Topic\n  name", "") == "Topic name"


def test_nonce_is_deterministic_short_and_distinct():
    assert nonce_for(1, "2025-W23") == nonce_for(1, "2025-W23")
    nonces = {nonce_for(sub, period) for sub in (1, 2, "12", "1:2") for period in ("2025-W23", "2025-W24", "2")}
    assert len(nonces) == 12
    assert all(len(nonce) <= 25 for nonce in nonces)
    assert nonce_for(1, "2025-W23") != nonce_for(12, "025-W23")
    parts = [nonce_for(1, "2025-W23", part) for part in range(3)]
    assert parts[0] == nonce_for(1, "2025-W23") and len(set(parts)) == 3
