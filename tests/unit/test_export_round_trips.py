"""Exports read back: import(export(papers)) gives the papers back, and the same papers give the same bytes.

md goes through the paper-list importer (`parse_paperlist`) and must give
back every paper (to the month), its notes and its quality marks; bib goes
through bibtexparser (`parse_bibtex`) and must give back the same papers. Both
on hand-made lists and as properties over generated papers with odd titles,
braces, `%`, `&`, Chinese notes and old-style ids.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.arxiv_ids import id_month
from bot.errors import UserError
from bot.export import Selection, export_file, papers_by_ids, papers_of_topic
from bot.ingest.bibtex import parse_bibtex
from bot.ingest.paperlist import parse_paperlist
from bot.models import Notes, Paper, TextQuality, Topic
from bot.presenter import shown_notes
from bot.text import normalize
from tests.support import FIXTURES

TOPIC = Topic("reward-model-vlm", "reward model+vlm")


def md_view(paper: Paper, lang: str = "en") -> tuple:
    """What the paper-list format holds of a paper: all of it must come back."""
    notes = shown_notes(paper, lang)
    month = paper.published[:7] if len(paper.published) >= 7 else id_month(paper.arxiv_id)
    return (paper.arxiv_id, paper.version, paper.title, paper.abstract, paper.code_url, month, paper.text_quality,
            notes_view(notes))  # fmt: skip


def notes_view(notes: Notes | None) -> tuple | None:
    if notes is None:
        return None
    return (notes.lang, notes.source, notes.origin, notes.text_quality, notes.as_dict())


def bib_view(paper: Paper) -> tuple:
    published = id_month(paper.arxiv_id) or paper.published[:7]
    return (paper.arxiv_id, paper.version, paper.title, paper.authors, published, paper.abstract, paper.doi,
            paper.journal_ref, paper.categories[:1])  # fmt: skip


def md_round_trip(papers: list[Paper], topic: Topic | None = TOPIC) -> tuple[list[Paper], list[str], bytes]:
    file = export_file(Selection(papers, "test", "list", topic), "md")
    parsed = parse_paperlist(file.content, "list.md")
    return parsed.papers, parsed.warnings, file.content


def bib_round_trip(papers: list[Paper]) -> list[Paper]:
    file = export_file(Selection(papers, "test", "refs"), "bib")
    parsed = parse_bibtex(file.content, "refs.bib")
    assert parsed.skipped == [] and parsed.warnings == []
    return [entry.paper("t") for entry in parsed.entries]


ZH_NOTES = Notes("zh", headline="DriveRX：四步推理", motivation="端到端模型缺少结构化推理。",
                 method="💡 任务拆分：感知、预测、规划。\n💡 分任务奖励。", results="优于 GPT-4o。",
                 takeaways="1. 多阶段奖励。\n\n2. 编码器很重要。", origin="survey.md")  # fmt: skip
PAPERS = [
    Paper("2505.20665", "DriveRX: A Vision-Language {Reasoning} Model with 50% & more", version=2,
          abstract="We study $x^2$ & {braces} at 100% \\textit{x}; R&D &amp; co.", authors=("Ada Lovelace", "张三"),
          published="2025-05-27", code_url="https://github.com/x/driverx", categories=("cs.CV",), notes=(ZH_NOTES,)),
    Paper("hep-th/9901001", "An old-style paper", published="1999-01", authors=("Kurt Gödel",), journal_ref="Phys. Rev. D 1",
          doi="10.1103/physrevd.1", text_quality=TextQuality.REPAIRED,
          notes=(Notes("en", headline=None, motivation="Only a motivation.", source="llm", origin="qwen2.5 7b",
                       text_quality=TextQuality.DAMAGED),)),
    Paper("2502.14191", "Same title", abstract="One.", published="2025-02",
          notes=(Notes("en", results="中文 in English notes.", origin="x.md"),)),
    Paper("2502.14192", "Same title", published="2025-02"),  # no abstract, no notes: no section, and last
]  # fmt: skip


# --- hand-made lists ---------------------------------------------------------------------------


def test_markdown_gives_back_papers_notes_and_quality_marks():
    back, warnings, content = md_round_trip(PAPERS)
    assert warnings == []
    assert [md_view(p) for p in back] == [md_view(p) for p in PAPERS]
    text = content.decode()
    assert text.startswith("# Paper List of Terms(reward model+vlm)\n- [25/05] **DriveRX")
    assert "### 🌟 论文解读 | DriveRX：四步推理" in text and "### 📌 Motivation" in text
    assert "<!-- paperbot: quality=repaired notes-quality=damaged notes-source=llm notes-origin=qwen2.5%207b -->" in text
    assert "<!-- paperbot: notes-lang=en notes-origin=x.md -->" in text  # Chinese characters in English notes
    assert "(#same-title)]" in text and "(#same-title-2502-14191)]" not in text  # one anchor; the second paper has no section
    assert text.endswith("<!-- paperbot: end of list, 4 papers -->\n")


def test_a_list_imported_and_exported_is_the_list_again():
    original = parse_paperlist((FIXTURES / "paperlists" / "clean.md").read_bytes(), "clean.md")
    back, warnings, _ = md_round_trip(original.papers, original.topic)
    assert warnings == []
    assert [md_view(p) for p in back] == [md_view(p) for p in original.papers]


def test_bibtex_gives_back_the_papers():
    assert [bib_view(p) for p in bib_round_trip(PAPERS)] == [bib_view(p) for p in PAPERS]


def test_bibtex_keys_are_stable_and_unique():
    text = export_file(Selection(PAPERS, "test", "refs"), "bib").content.decode()
    assert [line.split("{")[1].rstrip(",") for line in text.splitlines() if line.startswith("@")] == [
        "lovelace2025driverx", "godel1999oldstyle", "anon2025same", "anon2025samea",
    ]  # fmt: skip
    assert "@article{godel1999oldstyle," in text and "  journal = {Phys. Rev. D 1}," in text
    assert "  doi = {10.48550/arXiv.2505.20665}," in text and "  url = {https://arxiv.org/abs/2505.20665v2}," in text
    assert "  month = may," in text and "  primaryClass = {cs.CV}," in text


@pytest.mark.parametrize("fmt", ["md", "bib", "csv", "json"])
def test_exporting_twice_gives_the_same_bytes(fmt):
    first = export_file(Selection(list(PAPERS), "test", "x", TOPIC), fmt)
    again = export_file(Selection(list(PAPERS), "test", "x", TOPIC), fmt)
    assert first.content == again.content and first.filename == f"x.{fmt}"


def test_csv_and_json_carry_every_field_and_all_notes():
    paper = Paper("2505.1", "T", notes=(ZH_NOTES, Notes("en", headline="EN", source="llm", origin="m")))
    rows = list(csv.DictReader(io.StringIO(export_file(Selection([paper], "t", "x"), "csv").content.decode("utf-8-sig"))))
    assert rows[0]["arxiv_id"] == "2505.1" and rows[0]["notes_headline"] == "EN" and rows[0]["text_quality"] == "clean"
    document = json.loads(export_file(Selection([paper], "t", "x", TOPIC), "json").content)
    assert document["format"] == "paperbot-export" and document["topic"]["name"] == TOPIC.name
    assert [n["lang"] for n in document["papers"][0]["all_notes"]] == ["en", "zh"]
    assert "added_at" not in document["papers"][0]


# --- properties ---------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éöüßçñαβ论文方法实验结果强化学习"
_ODD = " {}%&$#_^~\\\"'`@<>()[]|*:;,.!?-+=/"
text_chars = st.text(alphabet=_LETTERS + _ODD, min_size=1, max_size=60)


def _title_ok(text: str) -> bool:
    # The paper-list format has no escape for these: a title with them cannot be a list item.
    return bool(text) and "**" not in text and "[[" not in text and not text.startswith("[")


titles = text_chars.map(normalize).filter(_title_ok)
abstracts = st.one_of(st.just(""), text_chars.map(normalize).filter(lambda t: not t.startswith(("#", "<!--"))))
body_lines = st.text(alphabet=_LETTERS + _ODD, max_size=40).map(str.rstrip).filter(
    lambda line: not line.lstrip().startswith(("#", "<!--"))
)
bodies = st.one_of(st.none(), st.lists(body_lines, min_size=1, max_size=4).map(lambda lines: "\n".join(lines).strip() or None))
qualities = st.sampled_from(list(TextQuality))


@st.composite
def notes(draw) -> Notes | None:
    fields = {name: draw(bodies) for name in ("motivation", "method", "results", "takeaways")}
    headline = draw(st.one_of(st.none(), text_chars.map(normalize).filter(bool)))
    source = draw(st.sampled_from(["paperlist", "llm"]))
    made = Notes(draw(st.sampled_from(["zh", "en"])), headline=headline, source=source,
                 origin=draw(st.sampled_from(["gpt-4o-mini", "qwen 2.5"] if source == "llm" else ["a.md", "my list (2).md"])),
                 text_quality=draw(qualities), **fields)  # fmt: skip
    return None if made.is_empty() else made


@st.composite
def arxiv_ids(draw) -> tuple[str, str]:
    """(id, published): new-style with its own month (a day or not), or old-style with any month."""
    if draw(st.booleans()):
        yy, mm = draw(st.integers(7, 30)), draw(st.integers(1, 12))
        day = draw(st.one_of(st.just(""), st.integers(1, 28).map(lambda d: f"-{d:02d}")))
        return f"{yy:02d}{mm:02d}.{draw(st.integers(1, 99999)):05d}", f"20{yy:02d}-{mm:02d}{day}"
    archive = draw(st.sampled_from(["hep-th", "astro-ph", "cond-mat", "math.AG", "quant-ph"]))
    year, month = draw(st.integers(1991, 2006)), draw(st.integers(1, 12))
    return f"{archive}/{year % 100:02d}{month:02d}{draw(st.integers(1, 999)):03d}", f"{year}-{month:02d}"


names = st.lists(st.text(alphabet=_LETTERS + "{}%&.-' ", min_size=1, max_size=12).map(normalize).filter(bool),
                 min_size=1, max_size=3).map(" ".join).filter(lambda name: name.lower() != "others")  # fmt: skip


journals = text_chars.map(normalize).filter(lambda t: bool(t) and not t.lower().startswith(("arxiv", "corr")))


@st.composite
def papers(draw) -> Paper:
    arxiv_id, published = draw(arxiv_ids())
    note = draw(notes())
    return Paper(
        arxiv_id=arxiv_id, title=draw(titles), version=draw(st.integers(1, 9)), abstract=draw(abstracts),
        authors=tuple(draw(st.lists(names, max_size=4))), published=published,
        code_url=draw(st.one_of(st.none(), st.from_regex(r"https://github\.com/[a-z0-9]{1,8}(/[a-z0-9]{1,8})?", fullmatch=True))),
        doi=draw(st.one_of(st.none(), st.from_regex(r"10\.[0-9]{4}/[a-z0-9.]{1,10}[a-z0-9]", fullmatch=True))),
        journal_ref=draw(st.one_of(st.none(), journals)),
        categories=draw(st.sampled_from([(), ("cs.CV",), ("hep-th", "gr-qc")])),
        text_quality=draw(qualities), notes=(note,) if note else (),
    )  # fmt: skip


paper_lists = st.lists(papers(), min_size=1, max_size=6, unique_by=lambda p: p.arxiv_id)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paper_lists)
def test_property_markdown_round_trip(listed):
    back, warnings, content = md_round_trip(listed)
    assert warnings == []
    assert [md_view(p) for p in back] == [md_view(p) for p in listed]
    assert md_round_trip(listed)[2] == content


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paper_lists)
def test_property_bibtex_round_trip(listed):
    assert [bib_view(p) for p in bib_round_trip(listed)] == [bib_view(p) for p in listed]


# --- choosing what to export, from the store -----------------------------------------------------


@pytest.fixture
async def paper_store(paper_store):
    """The shared store's papers (tests/conftest.py), every paper of PAPERS in TOPIC."""
    await paper_store.upsert_papers([replace(p, topics=(TOPIC.name,)) for p in PAPERS])
    await paper_store.upsert_topics([TOPIC])
    return paper_store


async def test_a_topic_exports_newest_first_and_ids_in_their_order(paper_store):
    topic = await papers_of_topic(paper_store, "Reward-Model-VLM")
    assert [p.arxiv_id for p in topic.papers] == ["2505.20665", "2502.14192", "2502.14191", "hep-th/9901001"]
    assert topic.topic == TOPIC and topic.stem == TOPIC.name
    chosen = await papers_by_ids(paper_store, ["hep-th/9901001", "https://arxiv.org/abs/2505.20665v1"])
    assert [p.arxiv_id for p in chosen.papers] == ["hep-th/9901001", "2505.20665"]


async def test_what_cannot_be_exported_is_named(paper_store):
    with pytest.raises(UserError, match="Unknown topic 'robots'") as unknown:
        await papers_of_topic(paper_store, "robots")
    assert "reward-model-vlm" in unknown.value.hint
    with pytest.raises(UserError, match="Not in the store: 2501.00001") as missing:
        await papers_by_ids(paper_store, ["2505.20665", "2501.00001"])
    assert "paperbot add" in missing.value.hint
    with pytest.raises(UserError, match="Not arXiv ids: nonsense"):
        await papers_by_ids(paper_store, ["nonsense"])


def test_cli_export_writes_the_file_and_refuses_what_it_cannot_do(paperbot, tmp_path):
    db = tmp_path / "p.db"
    assert paperbot("import", str(FIXTURES / "paperlists" / "clean.md"), db=db).returncode == 0
    topic = parse_paperlist((FIXTURES / "paperlists" / "clean.md").read_bytes(), "clean.md").topic.name
    out = tmp_path / "list.md"
    done = paperbot("export", "--topic", topic, "-o", str(out), db=db)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().endswith(f"as paper-list markdown -> {out}")
    again = paperbot("export", "--topic", topic, db=db)
    assert again.stdout.encode() == out.read_bytes()  # the same bytes, to a file or standard output
    by_url = paperbot("export", "--topic", topic, db=f"sqlite:///{db}")  # the store named by a URL is found too
    assert by_url.returncode == 0 and by_url.stdout == again.stdout, by_url.stderr
    back = paperbot("import", str(out), db=db)  # notes keep their origin: nothing changes
    assert back.stdout.endswith(f"0 new, 0 updated, 4 unchanged (topic {topic})\n"), back.stdout

    for args, message in [
        ((), "export needs exactly one of --topic NAME"),
        (("--topic", "nope"), "Unknown topic 'nope'"),
        (("--saved", "slack:-:C1"), "no saved reading list for slack:-:C1"),
        (("--library", "mine"), "no library named 'mine'"),
        (("--topic", topic, "-o", str(tmp_path)), "is a directory"),
    ]:
        refused = paperbot("export", *args, db=db)
        assert refused.returncode == 2 and message in refused.stderr, (args, refused.stderr)
    assert not (tmp_path / "nothing.md").exists()
