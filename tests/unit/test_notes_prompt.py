"""The contract with the notes model: the prompt we send and the answers we accept (pure functions)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.models import NOTE_FIELDS, Paper
from bot.notes_prompt import (
    HEADLINE_CHARS,
    SECTION_CHARS,
    InvalidNotes,
    build_messages,
    check_language,
    cjk_share,
    correction_message,
    parse_notes_answer,
    weighted_length,
)
from tests.support.fake_openai import EN_NOTES, ZH_NOTES

EN = {name: text.format(title="StepRM") for name, text in EN_NOTES.items()}
ZH = {name: text.format(title="StepRM") for name, text in ZH_NOTES.items()}


def answer(**changes) -> str:
    return json.dumps({**EN, **changes}, ensure_ascii=False)


def test_a_good_english_answer_gives_the_five_sections():
    assert parse_notes_answer(answer(), "en") == EN


def test_a_good_chinese_answer_gives_the_five_sections():
    assert parse_notes_answer(json.dumps(ZH, ensure_ascii=False), "zh") == ZH


def test_code_fences_thinking_and_a_sentence_around_the_object_are_tolerated():
    body = json.dumps(EN)
    assert parse_notes_answer(f"```json\n{body}\n```", "en") == EN
    assert parse_notes_answer(f"<think>The user wants {{notes}}.</think>\n{body}", "en") == EN
    assert parse_notes_answer(f"Here are the notes you asked for: {body} Hope this helps.", "en") == EN


def test_extra_keys_are_ignored_and_a_list_section_becomes_lines():
    parsed = parse_notes_answer(answer(takeaways=["Step rewards are denser.", "Grounding helps."], extra="x"), "en")
    assert parsed["takeaways"] == "Step rewards are denser.\nGrounding helps."
    assert set(parsed) == set(NOTE_FIELDS)


def test_the_headline_is_one_line_and_sections_lose_blank_lines():
    parsed = parse_notes_answer(
        answer(headline="StepRM:\n  a reward model\nthat checks steps", results="A  is   better.\n\n\nB too, on all benchmarks."),
        "en",
    )
    assert parsed["headline"] == "StepRM: a reward model that checks steps"
    assert parsed["results"] == "A is better.\nB too, on all benchmarks."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "the answer is empty"),
        ("   ", "the answer is empty"),
        ("I think this paper is about reward models.", "not JSON"),
        ('{"headline": "unterminated', "not JSON"),
        ('{"headline": "a", }', "not valid JSON"),
        ("[1, 2, 3]", "not an object"),
        (json.dumps({k: v for k, v in EN.items() if k != "takeaways"}), "missing section 'takeaways'"),
        (json.dumps({"headline": EN["headline"]}), "missing sections 'motivation', 'method', 'results', 'takeaways'"),
        (answer(method=""), "section 'method' is empty"),
        (answer(method="   "), "section 'method' is empty"),
        (answer(method=None), "section 'method' is empty"),
        (answer(results=42), "section 'results' must be a string, not int"),
        (answer(headline="RM"), "section 'headline' is too short"),
        (answer(headline="x " * 150), "section 'headline' is too long"),
        (answer(motivation="Too short."), "section 'motivation' is too short"),
        (answer(method="word " * 500), "section 'method' is too long"),
    ],
)
def test_unusable_answers_are_refused_with_a_reason_the_model_can_act_on(content, message):
    with pytest.raises(InvalidNotes, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_notes_answer(content, "en")


def test_english_asked_chinese_answered_is_refused_and_vice_versa():
    with pytest.raises(InvalidNotes, match="not in English"):
        parse_notes_answer(json.dumps(ZH, ensure_ascii=False), "en")
    with pytest.raises(InvalidNotes, match="not in Chinese"):
        parse_notes_answer(answer(), "zh")


def test_one_english_section_in_chinese_notes_is_refused():
    mixed = {**ZH, "results": EN["results"]}
    with pytest.raises(InvalidNotes, match="section 'results' is not in Chinese"):
        parse_notes_answer(json.dumps(mixed, ensure_ascii=False), "zh")


def test_chinese_notes_full_of_english_terms_still_count_as_chinese():
    # Like the sample lists: "多模态RewardBench：为视觉语言模型Reward Model提供全面评估基准" is 45% CJK.
    notes = {**ZH, "headline": "多模态RewardBench：为视觉语言模型Reward Model提供全面评估基准"}
    assert parse_notes_answer(json.dumps(notes, ensure_ascii=False), "zh")["headline"].startswith("多模态")


# Sections of real notes (two papers', some cut to their first sentences), copied from the survey
# tool's lists: the seed sample and its survey-agent/ outputs.
REAL_ZH = {
    "headline": "推理时用过程奖励引导VLM智能体实现GUI导航",
    "motivation": (
        "视觉语言模型（VLMs）在处理复杂图形用户界面（GUI）交互任务上取得进展，但现有框架在具挑战性的GUI环境中"
        "生成正确动作仍有困难。商业VLMs是黑盒难以调优，开源VLMs针对GUI任务微调资源消耗大；现有轨迹级评估和优化技术"
        "因延迟反馈与局部优化问题表现不佳。同时，轨迹级评估会导致个体动作优化不足、纠错延迟，强化学习（RL）类方法"
        "训练成本高且不稳定。为解决这些问题，论文提出GuidNav方法。"
    ),
    "method": (
        "💡 创新点1：提出GuidNav，推理时用过程奖励模型引导VLM智能体\n训练一个过程奖励模型，该模型基于少量人类演示和"
        "VLM生成的合成数据训练，学习GUI数据中的反馈信号。"
    ),
    "results": "论文未提供具体实验结果相关内容，暂无法阐述。",
    "takeaways": (
        "1. 数据集构建思路：ViSTa的分层结构与问题集设计为评估模型特定能力提供了细粒度框架。\n"
        "2. 实验结论价值：明确当前VLMs在序列任务理解上的不足，为后续模型改进指明方向。"
    ),
}


def test_real_chinese_notes_pass_and_short_chinese_sections_count_as_the_letters_they_carry():
    assert parse_notes_answer(json.dumps(REAL_ZH, ensure_ascii=False), "zh") == REAL_ZH
    # 11 characters, as much as 22 letters of English: long enough for a results section.
    short = {**REAL_ZH, "results": "在多个基准上优于基线。", "headline": "探索高效推理模型：全面综述"}
    assert parse_notes_answer(json.dumps(short, ensure_ascii=False), "zh")["results"] == "在多个基准上优于基线。"
    assert weighted_length("在多个基准上优于基线。") == 22 and weighted_length("VLM 模型") == 8
    # English of the same character count is still too short, and the weighting also bounds long Chinese.
    with pytest.raises(InvalidNotes, match=r"'results' is too short \(11 characters; at least 15\)"):
        parse_notes_answer(answer(results="Beats base."), "en")
    with pytest.raises(InvalidNotes, match=r"'method' is too long \(1001 characters, 2002 counting a CJK character as 2"):
        parse_notes_answer(json.dumps({**REAL_ZH, "method": "方" * 1001}, ensure_ascii=False), "zh")


def test_cjk_share_counts_letters_only():
    assert cjk_share("123 !?") is None
    assert cjk_share("VLM 模型") == pytest.approx(2 / 5)
    assert cjk_share("only latin") == 0


def test_an_unknown_language_is_a_programming_error():
    with pytest.raises(ValueError, match="'fr'"):
        check_language(EN, "fr")


@given(st.text(max_size=400))
def test_any_text_either_parses_into_five_bounded_sections_or_raises_invalid_notes(text):
    try:
        parsed = parse_notes_answer(text, "en")
    except InvalidNotes:
        return
    assert set(parsed) == set(NOTE_FIELDS)
    assert HEADLINE_CHARS[0] <= weighted_length(parsed["headline"]) <= HEADLINE_CHARS[1]
    assert all(SECTION_CHARS[0] <= weighted_length(parsed[name]) <= SECTION_CHARS[1] for name in NOTE_FIELDS[1:])


def test_the_prompt_asks_for_json_in_the_language_with_title_and_abstract():
    paper = Paper(
        "2506.00001", "Step  Rewards for\nVLMs", abstract="We propose $\\alpha$-StepRM. It works.",
        authors=tuple(f"Author {i}" for i in range(12)), categories=("cs.CV",), comment="10 pages",
    )
    system, user = build_messages(paper, "zh")
    assert system["role"] == "system" and user["role"] == "user"
    assert "JSON object" in system["content"] and "Simplified Chinese" in system["content"]
    assert all(f'"{name}"' in system["content"] for name in NOTE_FIELDS)
    assert "Title: Step Rewards for VLMs" in user["content"]
    assert "Abstract: We propose α-StepRM. It works." in user["content"]
    assert "Author 9 et al." in user["content"] and "Author 10" not in user["content"]
    assert "Comment: 10 pages" in user["content"]
    assert "English" in build_messages(paper, "en")[0]["content"]


def test_the_correction_repeats_the_error_and_the_rules():
    message = correction_message(InvalidNotes("missing section 'takeaways'"), "en")
    assert message["role"] == "user"
    assert "missing section 'takeaways'" in message["content"] and "English" in message["content"]
