"""Paper-list import (bot/ingest/paperlist.py): the parser on every fixture, then the import into a store.

Mojibake and truncated variants are made here from the clean fixture, so the
committed files stay readable and each damage is exactly the one described.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import IngestError
from bot.ingest.paperlist import (
    TOPIC_FROM_BIB,
    TOPIC_FROM_FILE,
    TOPIC_FROM_TERMS,
    PaperListError,
    ParsedPaperList,
    import_paperlist,
    parse_paperlist,
    topic_slug,
)
from bot.models import Notes, Paper, TextQuality, Topic
from tests.support import EXAMPLE_LIST, FIXTURES

LISTS = FIXTURES / "paperlists"
CLEAN, REPAIRED, DAMAGED = TextQuality.CLEAN, TextQuality.REPAIRED, TextQuality.DAMAGED

DRIVERX = "2505.20665"
BENCH = "2502.14191"  # English notes with curly quotes and a dash: repairable, never lossy
DPO = "2305.18290"  # all ASCII: a round trip cannot touch it
PREFS = "1706.03741"  # Chinese notes whose bytes include ones cp1252 drops


def fixture_bytes(name: str) -> bytes:
    return (LISTS / name).read_bytes()


def parse(name: str, topic: str | None = None) -> ParsedPaperList:
    return parse_paperlist(fixture_bytes(name), name, topic)


def by_id(papers: list[Paper]) -> dict[str, Paper]:
    return {paper.arxiv_id: paper for paper in papers}


def mojibake(data: bytes, errors: str = "strict") -> bytes:
    """A file saved again after its UTF-8 was read as cp1252 (`errors` says what happened to undefined bytes)."""
    codec = "sloppy-windows-1252" if errors == "strict" else "cp1252"
    return data.decode("utf-8").encode("utf-8").decode(codec, errors=errors).encode("utf-8")


def without_quality(paper: Paper) -> Paper:
    notes = tuple(dataclasses.replace(n, text_quality=CLEAN, origin="") for n in paper.notes)
    return dataclasses.replace(paper, text_quality=CLEAN, notes=notes)


# --- the example list and the clean fixture ----------------------------------------------


def test_example_list_is_a_clean_list_of_real_papers():
    parsed = parse_paperlist(EXAMPLE_LIST.read_bytes(), EXAMPLE_LIST.name)
    assert parsed.warnings == []
    assert parsed.topic == Topic(name="reward-model-vlm", title="reward model+vlm")
    papers = by_id(parsed.papers)
    assert len(papers) >= 12
    assert all(p.text_quality is CLEAN and p.abstract and p.notes for p in parsed.papers)
    driverx = papers[DRIVERX]
    assert driverx.title == "DriveRX: A Vision-Language Reasoning Model for Cross-Task Autonomous Driving"
    assert driverx.notes[0].lang == "zh" and "自动驾驶" in driverx.notes[0].motivation
    assert sum("driving" in (p.title + p.abstract).lower() for p in parsed.papers) >= 2
    langs = [p.notes[0].lang for p in parsed.papers]
    assert 1 <= langs.count("zh") < langs.count("en")
    assert papers["2410.05582"].code_url == "https://mczhi.github.io/GenDrive"  # listed with a stray dot


def test_every_field_of_a_paper():
    paper = by_id(parse("clean.md").papers)[BENCH]
    assert paper == Paper(
        arxiv_id=BENCH,
        version=1,
        title="Multimodal RewardBench: Holistic Evaluation of Reward Models for Vision Language Models",
        abstract=(
            "A benchmark that asks how often a reward model for vision-language models picks the better "
            "of two answers — about five thousand expert-annotated “prompt, chosen, rejected” triples over six areas."
        ),
        published="2025-02",
        code_url="https://github.com/facebookresearch/multimodal_rewardbench",
        topics=("reward-model-vlm",),
        text_quality=CLEAN,
        notes=(
            Notes(
                lang="en",
                headline="Which VLM judge picks the better answer?",
                motivation="VLM “judges” are used everywhere but rarely tested across skills.",
                method="💡 Experts label pairs of answers to the same prompt.\n💡 Items are grouped into six areas.",
                results="Even the best judges are far from perfect; reasoning and safety are hardest.",
                takeaways="Report reward-model accuracy per area, not only overall.",
                source="paperlist",
                origin="clean.md",
                text_quality=CLEAN,
            ),
        ),
    )


def test_chinese_notes_keep_their_language_and_fullwidth_punctuation():
    notes = by_id(parse("clean.md").papers)[DRIVERX].notes[0]
    assert notes.lang == "zh"
    assert notes.headline == "DriveRX：面向跨任务自动驾驶的视觉-语言推理模型"
    assert (
        notes.method
        == "💡 创新点1：把驾驶拆成感知、预测、规划、行为四个问答任务。\n💡 创新点2：每个任务配一个奖励模型，用强化学习训练。"
    )
    assert notes.takeaways == "1. 多阶段任务各配奖励模型。\n2. 视觉编码器的选择很重要。"


def test_notes_language_follows_the_notes_not_the_title():
    langs = {paper.arxiv_id: paper.notes[0].lang for paper in parse("clean.md").papers}
    assert langs == {DRIVERX: "zh", BENCH: "en", DPO: "en", PREFS: "zh"}


@pytest.mark.parametrize(
    ("arxiv_id", "headline"),
    [
        (DRIVERX, "DriveRX：面向跨任务自动驾驶的视觉-语言推理模型"),  # the text after `|`
        (DPO, "DPO turns preference learning into a classification loss"),  # no `|`: the heading itself
        (PREFS, "从人类对短片段的两两比较中学习奖励函数"),  # a bare 🌟: the first line under it
    ],
)
def test_headline_extraction(arxiv_id, headline):
    assert by_id(parse("clean.md").papers)[arxiv_id].notes[0].headline == headline


def test_versions_and_months():
    papers = by_id(parse("clean.md").papers)
    assert {i: (p.version, p.published) for i, p in papers.items()} == {
        DRIVERX: (1, "2025-05"),
        BENCH: (1, "2025-02"),
        DPO: (3, "2023-05"),
        PREFS: (4, "2017-06"),
    }


def one_item(month: str = "[25/06]", paper: str = "http://arxiv.org/pdf/2506.03517v2", code: str = "") -> bytes:
    return (
        "# Paper List of Terms(video+reward)\n"
        f"- {month} **DenseDPO: Fine-Grained Temporal Preference Optimization for Video Diffusion Models**  \n"
        f"[[Paper]({paper})] [[Code/Page]({code})] [[TLDR/Notes]()]\n"
    ).encode("utf-8")


@pytest.mark.parametrize(
    ("code", "expected", "warned"),
    [
        ("", None, False),
        ("https://github.com/NLPGM/PCogAlign.", "https://github.com/NLPGM/PCogAlign", False),
        ("https://qiushisun.github.io/OS-Genesis-Home/.", "https://qiushisun.github.io/OS-Genesis-Home/", False),
        ("https://example.org/v1.2/code", "https://example.org/v1.2/code", False),
        ("http://example.org", "http://example.org", False),
        ("ftp://example.org/code", None, True),
        ("mailto:someone@example.org", None, True),
        ("#notes", None, True),
        # The survey tool copies the punctuation after a URL in the PDF into the link.
        ("https://github.com/Honee-W/U-SAM/).", "https://github.com/Honee-W/U-SAM/", False),
        ("https://gomes.andrew.cmu.edu/iron-mind),", "https://gomes.andrew.cmu.edu/iron-mind", False),
        ("https://en.example.org/wiki/Agent_(software)", "https://en.example.org/wiki/Agent_(software)", False),
    ],
)
def test_code_links(code, expected, warned):
    parsed = parse_paperlist(one_item(code=code), "one.md")
    assert parsed.papers[0].code_url == expected
    assert any("code link" in w for w in parsed.warnings) == warned


@pytest.mark.parametrize(
    ("month", "published"),
    [("[25/06]", "2025-06"), ("[17/06]", "2017-06"), ("[99/12]", "1999-12"), ("[25/13]", "2025-06"), ("", "2025-06")],
)
def test_month_becomes_published(month, published):
    # A missing or impossible month falls back to the month a new-style arXiv id encodes.
    assert parse_paperlist(one_item(month=month), "one.md").papers[0].published == published


@pytest.mark.parametrize(
    ("url", "arxiv_id", "version"),
    [
        ("http://arxiv.org/pdf/2506.03517v2", "2506.03517", 2),
        ("https://arxiv.org/abs/2506.03517", "2506.03517", 1),
        ("https://arxiv.org/pdf/hep-th/9901001v3", "hep-th/9901001", 3),
    ],
)
def test_arxiv_id_and_version_from_the_paper_link(url, arxiv_id, version):
    paper = parse_paperlist(one_item(paper=url), "one.md").papers[0]
    assert (paper.arxiv_id, paper.version) == (arxiv_id, version)


def test_a_paper_listed_twice_keeps_its_highest_version():
    data = one_item() + one_item(paper="http://arxiv.org/pdf/2506.03517v3").split(b"\n", 1)[1]
    parsed = parse_paperlist(data, "twice.md")
    assert [(p.arxiv_id, p.version) for p in parsed.papers] == [("2506.03517", 3)]
    assert any("listed twice" in w for w in parsed.warnings)


def test_harmless_variations_parse_to_the_same_papers():
    text = fixture_bytes("clean.md").decode("utf-8")
    varied = (
        "\ufeff"
        + text.replace("- [23/05]", "## Older papers\n\n* [23/05]")
        .replace("### 🚀 Method\nSubstitute", "### 🚀\ufe0f Method\nSubstitute")
        .replace("### 📈 Results\nMatches", "### Aside\nnot notes\n\n### 📈 Results\nMatches")
        .replace("# TLDR/Notes\n", "# TLDR/Notes\n## an-unlinked-section\n### Abstract\nNobody links here.\n")
        .replace("\n", "\r\n")
    ).encode("utf-8")
    parsed = parse_paperlist(varied, "varied.md")
    clean = parse("clean.md")
    assert [without_quality(p) for p in parsed.papers] == [without_quality(p) for p in clean.papers]
    assert all(p.text_quality is CLEAN for p in parsed.papers)
    warned = "\n".join(parsed.warnings)
    assert "ignored notes heading 'Aside'" in warned and "not notes" not in warned
    assert "no item links to '## an-unlinked-section'" in warned


def test_lines_that_are_not_items_are_ignored_with_a_warning():
    data = fixture_bytes("clean.md").replace(b"\n\n- [25/02]", b"\nread twice\n\n- see also our wiki\n\n- [25/02]")
    parsed = parse_paperlist(data, "extra.md")
    assert len(parsed.papers) == 4
    assert any("extra.md:2: ignored text among the item's links: 'read twice'" in w for w in parsed.warnings)
    assert any("extra.md:6: ignored a list line" in w for w in parsed.warnings)


def test_warnings_are_capped():
    data = fixture_bytes("clean.md").replace(b"\n\n- [25/02]", b"\n\n" + b"stray line\n\n" * 500 + b"- [25/02]")
    parsed = parse_paperlist(data, "noisy.md")
    assert len(parsed.papers) == 4
    assert len(parsed.warnings) == 51 and parsed.warnings[-1] == "noisy.md: ... and 451 more warnings"


# --- topics --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "slug"),
    [
        ("reward model+vlm", "reward-model-vlm"),
        ("Reward Models + VLMs", "reward-models-vlms"),
        ("  LLM_agents (GUI) ", "llm-agents-gui"),
        ("自动驾驶 RL", "自动驾驶-rl"),
        ("ＶＬＭ", "vlm"),
    ],
)
def test_topic_slug(terms, slug):
    assert topic_slug(terms) == slug


def test_topic_from_heading_and_override():
    assert parse("clean.md").topic == Topic("reward-model-vlm", "reward model+vlm")
    overridden = parse("clean.md", topic="VLM Rewards")
    assert overridden.topic == Topic("vlm-rewards", "reward model+vlm")
    assert all(p.topics == ("vlm-rewards",) for p in overridden.papers)


def test_a_list_without_heading_needs_a_topic():
    with pytest.raises(PaperListError, match="no '# Paper List of Terms"):
        parse("no-heading.md")
    parsed = parse("no-heading.md", topic="Driving RL")
    assert parsed.topic == Topic("driving-rl", "Driving RL")
    assert [p.arxiv_id for p in parsed.papers] == ["2412.16201", "2410.05582"]
    assert all(p.notes == () and p.abstract == "" for p in parsed.papers)


def test_anchors_with_parentheses_find_their_notes_and_stray_url_punctuation_is_dropped():
    parsed = parse("parentheses-and-stray-punctuation.md")
    assert parsed.warnings == []
    papers = by_id(parsed.papers)
    grounding, iron, wiki = papers["2509.11111"], papers["2508.22222"], papers["2507.33333"]
    assert grounding.notes[0].results == "在多个基准上优于基线。"
    assert grounding.code_url == "https://github.com/example-lab/ground-talk/"
    assert iron.notes[0].headline == "Chemistry agents in a simulated lab" and iron.version == 2
    assert iron.code_url == "https://labs.example.edu/iron-lab"
    assert wiki.code_url == "https://en.example.org/wiki/Agent_(software)"


def test_a_list_with_no_papers_is_empty_not_an_error():
    parsed = parse("empty-list.md")
    assert parsed.papers == [] and parsed.topic.name == "reward-model-label-noise"
    # Without its `# TLDR/Notes`, a heading alone is a cut file, not an empty list.
    with pytest.raises(PaperListError, match="looks truncated"):
        parse_paperlist(fixture_bytes("empty-list.md").split(b"\n")[0] + b"\n", "cut.md")


@pytest.mark.parametrize(
    ("heading", "topic", "source"),
    [
        # The generator copies an uploaded .bib to a temporary name: the list's file name is better.
        ("# Paper List from BIB File: tmpq7_x2k9a.bib", Topic("my-searches", "my_searches"), TOPIC_FROM_FILE),
        ("# Paper List from BIB File: Driving RL.bib", Topic("driving-rl", "Driving RL"), TOPIC_FROM_BIB),
        ("# Paper List", Topic("my-searches", "my_searches"), TOPIC_FROM_FILE),
        ("# Paper List of Terms(search+RL)", Topic("search-rl", "search+RL"), TOPIC_FROM_TERMS),
    ],
)
def test_lists_without_terms_take_the_topic_from_the_bib_or_file_name(heading, topic, source):
    data = fixture_bytes("bib-heading.md").replace(b"# Paper List from BIB File: tmpq7_x2k9a.bib", heading.encode())
    parsed = parse_paperlist(data, "lists/my_searches.md")
    assert (parsed.topic, parsed.topic_source) == (topic, source)
    assert len(parsed.papers) == 2 and parsed.warnings == []
    assert parse_paperlist(data, "lists/my_searches.md", "Agents").topic.name == "agents"


def test_a_list_without_terms_and_a_file_name_without_letters_needs_a_topic():
    with pytest.raises(PaperListError, match="Pass --topic NAME"):
        parse_paperlist(fixture_bytes("bib-heading.md"), "lists/---.md")


def test_a_topic_with_no_letters_is_refused():
    with pytest.raises(PaperListError, match="topic"):
        parse("clean.md", topic="+++")


# --- mojibake ------------------------------------------------------------------------------


def lost_in_round_trip(paper: Paper) -> bool:
    """Whether any of the paper's text holds a byte cp1252 leaves undefined."""
    text = paper.title + paper.abstract + "".join(str(n.as_dict()) for n in paper.notes)
    return any(byte in b"\x81\x8d\x8f\x90\x9d" for byte in text.encode("utf-8"))


def test_mojibake_is_repaired_to_the_clean_text():
    clean = by_id(parse("clean.md").papers)
    latin1 = fixture_bytes("clean.md").decode("utf-8").encode("utf-8").decode("latin-1").encode("utf-8")
    for variant in (mojibake(fixture_bytes("clean.md")), latin1):
        parsed = parse_paperlist(variant, "clean.md")
        repaired = by_id(parsed.papers)
        assert {i: without_quality(p) for i, p in repaired.items()} == {i: without_quality(p) for i, p in clean.items()}
        # Every paper has some non-ASCII text (its emoji headings at least), so each was repaired.
        assert all(p.text_quality is REPAIRED and p.notes[0].text_quality is REPAIRED for p in parsed.papers)
        assert any("repaired mojibake" in w for w in parsed.warnings)


def test_a_paper_untouched_by_the_round_trip_stays_clean():
    data = one_item() + one_item(paper="http://arxiv.org/pdf/2506.00930v1").split(b"\n", 1)[1].replace(
        b"DenseDPO: Fine-Grained", "对齐 “Fine-Grained”".encode("utf-8")
    )
    papers = parse_paperlist(mojibake(data), "mixed.md").papers
    assert [(p.title[:8], p.text_quality) for p in papers] == [("DenseDPO", CLEAN), ("对齐 “Fine", REPAIRED)]


@pytest.mark.parametrize("errors", ["ignore", "replace"])
def test_lost_bytes_make_exactly_the_affected_papers_damaged(errors):
    clean = by_id(parse("clean.md").papers)
    parsed = parse_paperlist(mojibake(fixture_bytes("clean.md"), errors), "lossy.md")
    papers = by_id(parsed.papers)
    expected = {i: DAMAGED if lost_in_round_trip(p) else REPAIRED for i, p in clean.items()}
    assert {i: p.text_quality for i, p in papers.items()} == expected
    assert expected[PREFS] is DAMAGED and expected[DPO] is REPAIRED
    notes = papers[PREFS].notes[0]
    assert notes.text_quality is DAMAGED
    assert "\ufffd" in notes.method and "é" not in notes.method  # lost bytes are marked, not guessed
    assert papers[PREFS].title == clean[PREFS].title and papers[PREFS].abstract == clean[PREFS].abstract
    assert without_quality(papers[DPO]) == without_quality(clean[DPO])
    assert any("still damaged" in w for w in parsed.warnings)


# --- refusing bad files --------------------------------------------------------------------


def cut(name: str, upto: str) -> bytes:
    """The fixture cut right after the first `upto`."""
    data = fixture_bytes(name)
    end = upto.encode("utf-8")
    return data[: data.index(end) + len(end)]


BAD_FILES = {
    "binary.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "NUL bytes", 3),
    "noise.md": (bytes(range(1, 32)) * 40, "not a text file", 1),
    "latin2.md": (b"# Paper List \x81\x8d\x90\x9d" * 20, "neither UTF-8 nor cp1252", 1),
    "empty.md": (b"", "not a paper list", None),
    "wrong-format.md": (fixture_bytes("wrong-format.md"), "not a paper list", None),
    "heading-only.md": (b"# Paper List of Terms(reward model+vlm)\n", "no '- [yy/mm] **Title**' items", None),
    "bad-paper-link.md": (fixture_bytes("bad-paper-link.md"), "no [[Paper](arxiv.org/pdf/...)] link", 5),
    "missing-section.md": (fixture_bytes("missing-section.md"), "has no '## vlm-rm' section", 2),
    "truncated.md": (fixture_bytes("truncated.md"), "looks truncated", 5),
    "cut-in-title.md": (
        cut("clean.md", "**Multimodal RewardBench: "),
        "before its [[Paper]], [[Code/Page]], [[TLDR/Notes]] link",
        5,
    ),
    "cut-in-link.md": (
        cut("clean.md", "[[Code/Page](https://github.com/face"),
        "before its [[Code/Page]], [[TLDR/Notes]] link",
        6,
    ),
    "cut-after-paper-link.md": (
        cut("clean.md", "[[Paper](http://arxiv.org/pdf/2505.20665v1)]"),
        "[[Code/Page]], [[TLDR/Notes]]",
        3,
    ),
    "cut-before-links.md": (cut("clean.md", "Vision Language Models**  \n"), "looks truncated", 2),
    "cut-after-heading.md": (cut("clean.md", "### 🚀 Method\n"), "ends right after the heading", 49),
    "cut-before-results.md": (cut("clean.md", "优化学到的奖励。\n\n"), "stop before their results, takeaways", 90),
    "cut-in-a-character.md": (cut("clean.md", "面向跨任务自动驾驶")[:-1], "middle of a UTF-8 character", 23),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_are_refused_naming_file_and_line(name):
    data, message, line = BAD_FILES[name]
    with pytest.raises(IngestError) as caught:
        parse_paperlist(data, f"lists/{name}")
    error = caught.value
    assert message in str(error)
    assert (error.filename, error.line) == (f"lists/{name}", line)
    assert str(error).startswith(f"lists/{name}:{line}: " if line else f"lists/{name}: ")


@pytest.mark.slow
def test_every_cut_of_a_list_is_refused_or_warned_about():
    # Cut anywhere, a list is refused, except inside its very last line, which
    # looks like a file saved without a final line break: that gets a warning.
    data = fixture_bytes("clean.md")
    last_line_starts = data.rstrip(b"\n").rindex(b"\n") + 1
    for end in range(1, len(data) - 1):
        try:
            parsed = parse_paperlist(data[:end], "cut.md")
        except IngestError as error:
            assert error.filename == "cut.md"
            continue
        assert end > last_line_starts, end
        assert any("does not end with a line break" in w for w in parsed.warnings), end


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_the_parser_only_ever_raises_ingest_errors(data):
    try:
        parse_paperlist(data, "random.md")
    except IngestError as error:
        assert str(error).startswith("random.md")


# --- importing into a store ----------------------------------------------------------------


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def snapshot(paper_store) -> tuple:
    """Everything an import could change, in comparable form."""
    papers = []
    for stats in await paper_store.topics():
        papers.extend(await paper_store.latest(stats.topic.name, limit=100))
    ids = sorted({p.arxiv_id for p in papers})
    full = [await paper_store.get(i) for i in ids]
    topics = sorted((s.topic, s.paper_count) for s in await paper_store.topics())
    return await paper_store.paper_count(), topics, full


async def test_import_the_example_then_reimport_changes_nothing(paper_store):
    first = await import_paperlist(paper_store, EXAMPLE_LIST)
    assert (first.papers, first.stored.new, first.stored.updated, first.stored.unchanged) == (12, 12, 0, 0)
    assert first.topic.name == "reward-model-vlm" and first.filename == str(EXAMPLE_LIST)
    before = await snapshot(paper_store)
    again = await import_paperlist(paper_store, EXAMPLE_LIST)
    assert (again.stored.new, again.stored.updated, again.stored.unchanged) == (0, 0, 12)
    assert await snapshot(paper_store) == before
    driverx = await paper_store.get(DRIVERX)
    assert driverx.title.startswith("DriveRX") and driverx.notes[0].headline.startswith("DriveRX：")
    assert {s.topic.name: s.paper_count for s in await paper_store.topics()}["reward-model-vlm"] == 12


async def test_topic_override_on_import(paper_store, tmp_path):
    report = await import_paperlist(paper_store, LISTS / "no-heading.md", topic="Driving RL")
    assert (report.topic.name, report.stored.new) == ("driving-rl", 2)
    assert (await paper_store.get("2412.16201")).topics == ("driving-rl",)


async def test_a_configured_topic_keeps_its_query(paper_store):
    configured = Topic("reward-model-vlm", "Reward models for VLMs", query='all:"reward model"', categories=("cs.CV",))
    await paper_store.upsert_topics([configured])
    await import_paperlist(paper_store, LISTS / "clean.md")
    topics = {s.topic.name: s.topic for s in await paper_store.topics()}
    assert topics["reward-model-vlm"] == configured


@pytest.mark.parametrize("errors", ["strict", "ignore", "replace"])
async def test_a_clean_copy_is_never_overwritten_by_a_worse_one(paper_store, tmp_path, errors):
    await import_paperlist(paper_store, LISTS / "clean.md")
    before = await snapshot(paper_store)
    # The worse copy even claims newer versions, which would otherwise win.
    worse = mojibake(fixture_bytes("clean.md"), errors).replace(b"v1)]", b"v2)]")
    await import_paperlist(paper_store, write(tmp_path, "worse.md", worse))
    for arxiv_id in (DRIVERX, PREFS):
        stored = await paper_store.get(arxiv_id)
        was = next(p for p in before[2] if p.arxiv_id == arxiv_id)
        assert stored.text_quality is CLEAN
        assert (stored.title, stored.abstract) == (was.title, was.abstract)
        assert [n for n in stored.notes if n.lang == "zh"] == [n for n in was.notes if n.lang == "zh"]


async def test_a_clean_copy_replaces_a_damaged_one(paper_store, tmp_path):
    await import_paperlist(paper_store, write(tmp_path, "lossy.md", mojibake(fixture_bytes("clean.md"), "ignore")))
    assert (await paper_store.get(PREFS)).text_quality is DAMAGED
    report = await import_paperlist(paper_store, LISTS / "clean.md")
    assert report.stored.new == 0
    stored = await paper_store.get(PREFS)
    assert stored.text_quality is CLEAN
    assert stored.notes_in("zh").text_quality is CLEAN and "\ufffd" not in stored.notes_in("zh").method


async def test_a_damaged_copy_does_not_overwrite_a_repaired_one(paper_store, tmp_path):
    await import_paperlist(paper_store, write(tmp_path, "repaired.md", mojibake(fixture_bytes("clean.md"))))
    await import_paperlist(paper_store, write(tmp_path, "lossy.md", mojibake(fixture_bytes("clean.md"), "replace")))
    stored = await paper_store.get(PREFS)
    assert stored.text_quality is REPAIRED
    assert stored.notes_in("zh").text_quality is REPAIRED and "\ufffd" not in stored.notes_in("zh").method


@pytest.mark.parametrize("order", [("versions-v1.md", "versions-v2.md"), ("versions-v2.md", "versions-v1.md")])
async def test_two_versions_in_two_files(paper_store, order):
    for name in order:
        await import_paperlist(paper_store, LISTS / name)
    paper = await paper_store.get("2304.05977")
    assert paper.version == 2
    assert "second version" in paper.abstract
    assert paper.code_url == "https://github.com/THUDM/ImageReward"
    assert set(paper.topics) == {"text-to-image-reward", "reward-model-vlm"}
    assert {n.lang for n in paper.notes} == {"en", "zh"}


BAD_ON_DISK = {
    "binary.md": BAD_FILES["binary.md"][0],
    "wrong-format.md": fixture_bytes("wrong-format.md"),
    "truncated.md": fixture_bytes("truncated.md"),
    "cut-in-link.md": BAD_FILES["cut-in-link.md"][0],
    "missing-section.md": fixture_bytes("missing-section.md"),
    "bad-paper-link.md": fixture_bytes("bad-paper-link.md"),
}


@pytest.mark.parametrize("name", sorted(BAD_ON_DISK))
async def test_a_bad_file_changes_nothing_in_the_store(paper_store, tmp_path, name):
    await import_paperlist(paper_store, EXAMPLE_LIST)
    before = await snapshot(paper_store)
    path = write(tmp_path, name, BAD_ON_DISK[name])
    with pytest.raises(IngestError) as caught:
        await import_paperlist(paper_store, path)
    assert str(caught.value).startswith(str(path))
    assert await snapshot(paper_store) == before


async def test_unreadable_paths_are_refused_naming_them(paper_store, tmp_path):
    cases = [(tmp_path / "missing.md", "cannot be read"), (tmp_path, "is a directory")]
    if Path("/dev/zero").exists():
        cases.append((Path("/dev/zero"), "is not a regular file"))
    for path, message in cases:
        with pytest.raises(IngestError) as caught:
            await import_paperlist(paper_store, path)
        assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert await paper_store.paper_count() == 0 and await paper_store.topics() == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
async def test_a_file_without_read_permission_is_refused(paper_store, tmp_path):
    path = write(tmp_path, "secret.md", fixture_bytes("clean.md"))
    path.chmod(0)
    with pytest.raises(IngestError, match="cannot be read"):
        await import_paperlist(paper_store, path)


async def test_an_empty_list_imports_as_zero_papers_and_changes_nothing(paper_store):
    report = await import_paperlist(paper_store, LISTS / "empty-list.md")
    assert (report.papers, report.stored.new, report.stored.updated, report.stored.unchanged) == (0, 0, 0, 0)
    assert report.summary.endswith("empty-list.md: 0 papers: the list is empty, nothing imported")
    assert await paper_store.paper_count() == 0 and await paper_store.topics() == []


# --- the CLI, on the shapes the survey tool really writes ------------------------------------


def test_cli_imports_parenthesised_anchors_and_code_links_with_stray_punctuation(paperbot, tmp_path):
    db = tmp_path / "p.db"
    result = paperbot("import", str(LISTS / "parentheses-and-stray-punctuation.md"), db=db)
    assert result.returncode == 0, result.stderr
    assert "3 new, 0 updated, 0 unchanged (topic vlm-grounding)" in result.stdout
    shown = paperbot("show", "2508.22222", "--json", db=db)
    detail = json.loads(shown.stdout)
    assert detail["code_url"] == "https://labs.example.edu/iron-lab"
    assert detail["notes"]["headline"] == "Chemistry agents in a simulated lab"


def test_cli_says_0_papers_for_an_empty_list_and_exits_0(paperbot, tmp_path):
    result = paperbot("import", str(LISTS / "empty-list.md"), db=tmp_path / "p.db")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{LISTS / 'empty-list.md'}: 0 papers: the list is empty, nothing imported\n"


def test_cli_imports_bib_and_bare_headed_lists_and_says_which_topic_it_used(paperbot, tmp_path):
    bare = write(tmp_path, "agents.md", fixture_bytes("bib-heading.md").replace(
        b"# Paper List from BIB File: tmpq7_x2k9a.bib", b"# Paper List"))
    db = tmp_path / "p.db"
    result = paperbot("import", str(LISTS / "bib-heading.md"), str(bare), db=db)
    assert result.returncode == 0, result.stderr
    assert "2 new, 0 updated, 0 unchanged (topic bib-heading)" in result.stdout
    assert "0 new, 2 updated, 0 unchanged (topic agents)" in result.stdout
    assert "note: topic bib-heading is named after the list's file name" in result.stderr
    assert "pass --topic NAME to choose another" in result.stderr
    topics = json.loads(paperbot("topics", "--json", db=db).stdout)
    counts = {t["name"]: t["paper_count"] for t in topics}
    assert (counts["bib-heading"], counts["agents"]) == (2, 2)
