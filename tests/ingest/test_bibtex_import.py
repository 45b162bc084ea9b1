"""Importing BibTeX: Zotero, Google Scholar and arXiv "Export citation" shapes, offline and against the fake arXiv.

The fixtures in tests/fixtures/bibtex/ are written in the shapes of real
exports (Zotero's braces, escapes and `note = {arXiv:...}`, Scholar's
`journal={arXiv preprint arXiv:...}` and `and others`, arXiv's own
`eprint`/`archivePrefix`/`primaryClass`), with entries made up for the tests.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import FetchConfig
from bot.ingest.arxiv import ArxivFetcher, RequestLimiter
from bot.ingest.bibtex import BibtexError, import_bibtex, looks_like_bibtex, parse_bibtex
from bot.ingest.latex import decode_latex, escape_latex
from bot.models import TextQuality
from bot.text import normalize
from tests.support import FIXTURES, Sleeps
from tests.support.fake_arxiv import FakePaper, utc

BIB = FIXTURES / "bibtex"
MIMO = "MiMo: Unlocking the Reasoning Potential of Language Model -- From Pretraining to Posttraining"


@pytest.fixture
def lookup(fake_arxiv, paper_store):
    client = ArxivFetcher(paper_store, FetchConfig(delay_seconds=0, backoff_seconds=0.001, retries=1, timeout_seconds=2.0),
                          fake_arxiv.url, sleep=Sleeps(), limiter=RequestLimiter(), jitter=0)  # fmt: skip
    yield client
    client.close()


def entries(name: str) -> dict:
    return {entry.key: entry for entry in parse_bibtex((BIB / name).read_bytes(), name).entries}


# --- reading entries -----------------------------------------------------------------------


def test_zotero_entries_braces_escapes_accents_and_dois():
    found = entries("zotero.bib")
    mimo = found["team_mimo_2025"]
    assert (mimo.arxiv_id, mimo.version, mimo.published) == ("2505.07608", 1, "2025-05")
    assert mimo.title == MIMO
    assert mimo.authors == ("Xiaomi LLM-Core Team", "Bingquan Xia", "Bowen Shen", "Cici", "Dawei Zhu")
    assert mimo.paper("t").code_url == "https://github.com/xiaomimimo/MiMo"
    atom = found["teng_atom_2025"].abstract
    # Zotero's escapes give back arXiv's own LaTeX, which is what the API path stores.
    assert "essentially \\textit{atomic questions}, exhibiting" in atom
    assert "\\our achieves an \\textbf{80.6\\%} F1 score" in atom and "Q&A" in atom
    searcher = found["mei_o2-searcher_2025"]
    assert searcher.title.startswith("O$^2$-Searcher: A Searching-based Agent Model")
    assert searcher.authors[2:] == ("Bernhard Schölkopf", "Csaba Balázs")
    assert "on $2$ distinct" in searcher.abstract and "80.4%" in searcher.abstract
    assert found["zha_new_2025"].doi == "10.1109/IDS66066.2025.00013"  # a journal DOI; the arXiv id is in the url
    assert found["gerhardt_towards_2025"].arxiv_id is None


def test_google_scholar_entries_journal_mentions_and_others():
    found = entries("google-scholar.bib")
    assert found["guo2025deepseek"].arxiv_id == "2501.12948"
    assert found["guo2025deepseek"].authors[-1] == "Ruoyu Zhang"  # `and others` is dropped
    assert found["guo2025deepseek"].paper("t").published == "2025-01"  # the id's month beats the bare year
    assert found["rafailov2023direct"].arxiv_id is None
    assert found["rafailov2023direct"].journal_ref == "Advances in neural information processing systems"
    parsed = parse_bibtex((BIB / "google-scholar.bib").read_bytes(), "gs.bib")
    assert parsed.skipped == [("nobody2024nothing", "no arXiv id and no title")]


def test_arxiv_export_entries_with_eprint_old_style_and_versioned_url():
    found = entries("arxiv-export.bib")
    dpo = found["rafailov2024directpreferenceoptimizationlanguage"]
    assert (dpo.arxiv_id, dpo.categories, dpo.authors[4]) == ("2305.18290", ("cs.LG",), "Christopher D. Manning")
    old = found["maldacena1999large"]
    assert (old.arxiv_id, old.version, old.published, old.categories) == ("hep-th/9711200", 3, "1997", ("hep-th",))


@pytest.mark.parametrize(
    "raw, text",
    [
        ("{MiMo}: {Unlocking} the {Reasoning}", "MiMo: Unlocking the Reasoning"),
        ("Sch{\\\"o}lkopf, G\\\"odel, Bal\\'{a}zs, {\\ss}, \\c{c}", "Schölkopf, Gödel, Balázs, ß, ç"),
        ("O\\${\\textasciicircum}2\\$ and {\\textbackslash}alpha", "O$^2$ and \\alpha"),
        ("$\\mathcal{O}(n)$ time, 50\\% \\& more", "$\\mathcal{O}(n)$ time, 50% & more"),
        ("\\emph{kept} as~written", "\\emph{kept} as written"),
    ],
)
def test_latex_is_decoded_to_the_text_arxiv_has(raw, text):
    assert decode_latex(raw) == text


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=80))
def test_escaping_reads_back_unchanged(text):
    stored = normalize(text)
    assert decode_latex(escape_latex(stored)) == stored


def test_malformed_bibtex_names_the_file_and_line():
    with pytest.raises(BibtexError) as refused:
        parse_bibtex((BIB / "malformed.bib").read_bytes(), "malformed.bib")
    assert str(refused.value).startswith("malformed.bib:7: malformed BibTeX: '@misc{broken_2025,'")
    with pytest.raises(BibtexError, match="has no BibTeX entries"):
        parse_bibtex(b"# Paper List of Terms(x)\n", "notes.bib")
    with pytest.raises(BibtexError, match="image.bib:1: contains NUL bytes: not a text file"):
        parse_bibtex(b"\x00\x01\x02@misc{", "image.bib")


def test_bibtex_is_recognised_by_name_or_by_its_first_entry(tmp_path):
    exported = tmp_path / "export.txt"
    exported.write_text("% from Zotero\n\n@misc{a,\n title={x}}\n")
    paper_list = tmp_path / "list.md"
    paper_list.write_text("# Paper List of Terms(x)\n")
    assert looks_like_bibtex(BIB / "zotero.bib") and looks_like_bibtex(exported)
    assert not looks_like_bibtex(paper_list)


# --- importing --------------------------------------------------------------------------------


async def test_offline_import_writes_every_entry_with_an_id_in_one_go(paper_store):
    report = await import_bibtex(paper_store, BIB / "zotero.bib", offline="--offline")

    assert (report.entries, report.papers, report.stored.new) == (5, 4, 4)
    assert report.unmatched == ("gerhardt_towards_2025",) and report.skipped == ()
    assert report.topic.name == "zotero" and report.topic_from_file
    assert "unmatched (no arXiv id; titles not looked up): gerhardt_towards_2025" in "\n".join(report.summary_lines())
    assert "zotero" in await paper_store.topic_names()
    paper = await paper_store.get("2505.16582")
    assert paper is not None and paper.topics == ("zotero",) and paper.text_quality is TextQuality.CLEAN

    again = await import_bibtex(paper_store, BIB / "zotero.bib", "Reading group", offline="--offline")
    assert (again.stored.new, again.stored.updated) == (0, 4)  # joins the topic given with --topic
    assert set((await paper_store.get("2505.16582")).topics) == {"zotero", "reading-group"}


async def test_a_malformed_file_changes_nothing(paper_store):
    with pytest.raises(BibtexError):
        await import_bibtex(paper_store, BIB / "malformed.bib", offline="--offline")
    assert await paper_store.paper_count() == 0 and await paper_store.topic_names() == []


async def test_entries_are_refreshed_from_arxiv_and_missing_ids_found_by_title(paper_store, lookup, fake_arxiv):
    fake_arxiv.add(
        FakePaper("2505.07608", version=2, title=MIMO,
                  published=utc(2025, 5, 12), authors=("LLM-Core Xiaomi",), primary_category="cs.CL"),
        FakePaper("2502.12018", title="Atom of Thoughts for Markov LLM Test-Time Scaling", published=utc(2025, 2, 17)),
        FakePaper("2505.99999", title="Towards Scalable and Resource-Conscious Reasoning: A Survey of Efficient Models",
                  published=utc(2025, 5, 20)),
        FakePaper("2505.88888", title="Scalable Resource-Conscious Reasoning Towards Efficient Models Survey Agents"),
    )  # fmt: skip
    report = await import_bibtex(paper_store, BIB / "zotero.bib", "survey", lookup)

    assert report.offline is None
    assert report.found_by_title == (("gerhardt_towards_2025", "2505.99999"),) and report.unmatched == ()
    assert (report.papers, report.refreshed) == (5, 3)
    ids_asked = [r.params["id_list"] for r in fake_arxiv.requests if r.params.get("id_list")]
    assert ids_asked == ["2505.07608,2502.12018,2505.16582,2505.06408"]  # one request for every id
    assert "arXiv does not know 2505.16582" in "\n".join(report.warnings)
    mimo = await paper_store.get("2505.07608")
    assert (mimo.version, mimo.published, mimo.authors, mimo.categories) == (2, "2025-05-12", ("LLM-Core Xiaomi",), ("cs.CL",))
    kept = await paper_store.get("2505.16582")  # arXiv did not know it: imported from the entry
    assert kept.authors[-1] == "Csaba Balázs" and kept.topics == ("survey",)
    assert (await paper_store.get("2505.99999")).topics == ("survey",)


async def test_a_title_below_the_threshold_stays_unmatched(paper_store, lookup, fake_arxiv):
    fake_arxiv.add(
        FakePaper("2505.88888", title="Scalable Reasoning Survey: Towards Resource Conscious Efficient Models of Agents")
    )
    report = await import_bibtex(paper_store, BIB / "zotero.bib", "survey", lookup)
    assert report.unmatched == ("gerhardt_towards_2025",) and report.found_by_title == ()
    assert "no close title on arXiv" in "\n".join(report.summary_lines())
    assert await paper_store.get("2505.88888") is None


async def test_arxiv_unreachable_imports_from_the_file(paper_store, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ArxivFetcher(paper_store, FetchConfig(delay_seconds=0, retries=0, timeout_seconds=2.0), f"http://127.0.0.1:{port}/api/query",
                          sleep=Sleeps(), limiter=RequestLimiter(), jitter=0)  # fmt: skip
    try:
        report = await import_bibtex(paper_store, BIB / "arxiv-export.bib", None, client)
    finally:
        client.close()
    assert report.papers == 2 and report.offline.startswith("arXiv could not be asked")
    assert (await paper_store.get("hep-th/9711200")).version == 3


# --- the command ------------------------------------------------------------------------------


def test_cli_imports_offline_and_refuses_a_malformed_file_with_exit_2(paperbot, tmp_path):
    db = tmp_path / "p.db"
    done = paperbot("import", str(BIB / "google-scholar.bib"), "--offline", db=db)
    assert done.returncode == 0, done.stderr
    assert "google-scholar.bib: 4 entries on topic google-scholar: 1 imported (1 new, 0 updated, 0 unchanged), " \
           "2 unmatched, 1 skipped" in done.stdout  # fmt: skip
    assert "skipped nobody2024nothing: no arXiv id and no title" in done.stdout
    assert "unmatched (no arXiv id; titles not looked up): rafailov2023direct, ouyang2022training" in done.stdout
    assert "topic google-scholar is named after the file" in done.stderr

    refused = paperbot("import", str(BIB / "malformed.bib"), db=db)
    assert refused.returncode == 2
    assert "malformed.bib:7: malformed BibTeX" in refused.stderr
    shown = paperbot("show", "2505.00001", db=db)
    assert "not in the store" in shown.stdout


def test_cli_asks_the_fake_arxiv_when_fetching_is_on(paperbot, tmp_path, fake_arxiv):
    config = tmp_path / "online.toml"
    config.write_text(f'arxiv_api_url = "{fake_arxiv.url}"\n[fetch]\ndelay_seconds = 0\nretries = 0\n')
    fake_arxiv.add(
        FakePaper("2305.18290", version=3, title="Direct Preference Optimization: Your Language Model is Secretly a Reward")
    )
    done = paperbot("--config", str(config), "import", str(BIB / "arxiv-export.bib"), "--topic", "dpo", db=tmp_path / "p.db")
    assert done.returncode == 0, done.stderr
    assert "2 imported (2 new, 0 updated, 0 unchanged)" in done.stdout and "1 refreshed from the arXiv API" in done.stdout
    assert "arXiv does not know hep-th/9711200" in done.stderr
    assert [r.params["id_list"] for r in fake_arxiv.requests] == ["2305.18290,hep-th/9711200"]


def test_the_fixtures_are_in_utf8_as_exports_are():
    for path in Path(BIB).glob("*.bib"):
        path.read_bytes().decode("utf-8")
