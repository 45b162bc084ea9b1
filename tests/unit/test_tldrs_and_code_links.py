"""TLDRs and code links: table-driven cases from realistic abstracts, edge cases, properties."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.models import Notes, Paper, TextQuality
from bot.summarize import (
    ELLIPSIS,
    TLDR_LANGS,
    extractive_tldr,
    find_code_url,
    fit,
    normalize_text,
    parse_tldr_lang,
    split_sentences,
    tldr,
)
from bot.text import CJK_CHAR

# --- extractive TLDRs from whole abstracts ----------------------------------------------

# (id, abstract as arXiv delivers it, expected TLDR)
ABSTRACTS = [
    (
        "contribution-then-result",
        """Reward models are central to aligning vision-language models (VLMs) with
human preferences, yet they are trained on pairwise labels that are costly to
collect. Existing methods rely on a single annotator per pair. We propose
PairMix, a data-efficient recipe that synthesizes preference pairs by mixing
responses from weak and strong policies. PairMix requires no human labels
beyond a small seed set. On VL-RewardBench, PairMix outperforms the previous
best open model by 4.2% while using 10x less data.""",
        "We propose PairMix, a data-efficient recipe that synthesizes preference pairs by "
        "mixing responses from weak and strong policies. On VL-RewardBench, PairMix "
        "outperforms the previous best open model by 4.2% while using 10x less data.",
    ),
    (
        "abbreviations-do-not-split",
        """Agents that browse the web (e.g. for shopping) often fail on long tasks.
Prior work by Deng et al. studies offline traces only. In this work, we present
a planner that queries a value model, i.e. a critic, before every click. The
planner improves task success from 31.5% to 44.0% on WebArena.""",
        "In this work, we present a planner that queries a value model, i.e. a critic, "
        "before every click. The planner improves task success from 31.5% to 44.0% on WebArena.",
    ),
    (
        "this-paper-presents-with-decimals-and-versions",
        """Large models such as Llama-3.1 and Qwen2.5-VL v2.0 are expensive to serve.
This paper presents SparseServe, a serving system that skips 3.5% of the attention
heads per token at no loss in quality. SparseServe achieves a 1.8x throughput gain
over vLLM 0.6.3 on an A100.""",
        "This paper presents SparseServe, a serving system that skips 3.5% of the attention "
        "heads per token at no loss in quality. SparseServe achieves a 1.8x throughput gain "
        "over vLLM 0.6.3 on an A100.",
    ),
    (
        "latex-noise",
        r"""Off-policy evaluation with $\alpha$-divergences is unstable when the
behaviour policy is far from the target. We introduce \textbf{AlphaClip}, which
clips importance weights at $1/\epsilon$ and provably bounds the variance
\cite{smith2020}. Experiments on MuJoCo show that AlphaClip reduces error by
$35\%$ compared to $\mathrm{IS}$ baselines.""",
        "We introduce AlphaClip, which clips importance weights at 1/ε and provably bounds "
        "the variance. Experiments on MuJoCo show that AlphaClip reduces error by 35% "
        "compared to IS baselines.",
    ),
    (
        "no-cue-takes-leading-sentences",
        """Robotic grasping in clutter remains hard. Occlusions hide graspable
surfaces. Depth sensors are noisy near edges. This note collects practical lessons
from three years of running a bin-picking cell in a warehouse, with failure
statistics broken down by object category, shelf height and lighting condition,
and a list of open problems for the community.""",
        "Robotic grasping in clutter remains hard. Occlusions hide graspable surfaces. "
        "Depth sensors are noisy near edges.",
    ),
    (
        "result-cue-before-contribution-is-motivation",
        """State-of-the-art detectors achieve 60% mAP on COCO but collapse under fog.
We propose FogAdapt, a test-time adaptation method that updates only normalization
statistics. It needs no labels and runs on the fly.""",
        "We propose FogAdapt, a test-time adaptation method that updates only normalization statistics.",
    ),
    (
        "hard-wraps-and-hyphen-wrap",
        """We present a vision-
language benchmark for chart
reading   with 12,000 questions.
Models answer 58% of questions correctly, far below the 93% of humans.""",
        "We present a vision-language benchmark for chart reading with 12,000 questions. "
        "Models answer 58% of questions correctly, far below the 93% of humans.",
    ),
    (
        "figure-and-versus-abbreviations",
        """We compare dense vs. sparse retrieval for long documents (cf. Fig. 2 of the
appendix) and introduce HybridRank, which interpolates both scores. HybridRank improves
nDCG@10 by 2.1 points over BM25.""",
        "We compare dense vs. sparse retrieval for long documents (cf. Fig. 2 of the appendix) "
        "and introduce HybridRank, which interpolates both scores. HybridRank improves "
        "nDCG@10 by 2.1 points over BM25.",
    ),
    (
        "named-method-wins-the-tie",
        """Personal assistants should adapt to their user. First, we propose to
characterize users by the roles they play. Then, we present a framework called
RoleAlign that trains a role-aware reward model. Human raters prefer RoleAlign
responses in 71% of comparisons against GPT-4o responses on our new benchmark of
twelve thousand situated questions collected from volunteers in six countries.""",
        "First, we propose to characterize users by the roles they play. Then, we present "
        "a framework called RoleAlign that trains a role-aware reward model.",
    ),
    (
        "weak-cue-leads-when-alone",
        """Scaling laws for reinforcement learning are poorly understood. We show that
the optimal number of environment steps grows as a power law in model size. The
fitted exponent is stable across Atari, Procgen and MuJoCo.""",
        "We show that the optimal number of environment steps grows as a power law in model size.",
    ),
    (
        "url-inside-contribution-sentence",
        """We release CodeBench v1.2, a benchmark of 500 repository-level tasks, at
https://github.com/example/codebench. We introduce an agent that edits files with
a diff tool. It solves 27.4% of the tasks.""",
        "We introduce an agent that edits files with a diff tool. It solves 27.4% of the tasks.",
    ),
    (
        "chinese-abstract",
        "视觉语言模型在自动驾驶中缺乏结构化推理。本文提出DriveR框架，将驾驶决策建模为多阶段问答。"
        "实验表明，DriveR在公开基准上优于GPT-4o。",
        "本文提出DriveR框架，将驾驶决策建模为多阶段问答。实验表明，DriveR在公开基准上优于GPT-4o。",
    ),
]


@pytest.mark.parametrize("abstract, expected", [c[1:] for c in ABSTRACTS], ids=[c[0] for c in ABSTRACTS])
def test_extractive_tldr(abstract: str, expected: str) -> None:
    assert extractive_tldr(abstract) == expected
    assert len(expected) <= 300


def test_result_sentence_only_when_it_fits() -> None:
    contribution = "We propose " + " ".join(["TinyNet"] + ["block"] * 40) + "."
    result = "TinyNet outperforms ResNet-50 by 3% on ImageNet."
    abstract = f"Vision backbones are large. {contribution} {result}"
    assert len(contribution) + 1 + len(result) > 300 >= len(contribution)
    assert extractive_tldr(abstract) == contribution


def test_long_contribution_sentence_is_cut_at_a_word_with_ellipsis() -> None:
    words = [f"module{i}" for i in range(80)]
    abstract = "Background first. We propose " + " ".join(words) + ". It works."
    result = extractive_tldr(abstract)
    assert len(result) <= 300
    assert result.endswith(ELLIPSIS)
    assert result.startswith("We propose module0 module1")
    assert result[:-1].split()[-1] in words  # a whole word before the ellipsis


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Deng et al. (2023) show this. We go.", ["Deng et al. (2023) show this.", "We go."]),
        ("Results, e.g. Table 3, vs. Fig. 4. Next.", ["Results, e.g. Table 3, vs. Fig. 4.", "Next."]),
        ("Accuracy rose 3.5% with v2.1.3. Then it fell.", ["Accuracy rose 3.5% with v2.1.3.", "Then it fell."]),
        ("See https://x.org/a.b.c for code. It runs.", ["See https://x.org/a.b.c for code.", "It runs."]),
        ("Is it? Yes! \"Quoted.\" Done", ["Is it?", "Yes!", "\"Quoted.\"", "Done"]),
        ("Work by J. Smith in the U.S. is cited.", ["Work by J. Smith in the U.S. is cited."]),
        ("第一句。第二句！第三句", ["第一句。", "第二句！", "第三句"]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("a\n  b\t\tc  ", "a b c"),
        (r"$\alpha$-divergence and $$x^2$$", "α-divergence and x^2"),
        (r"cost \$5 and \$10", "cost $5 and $10"),
        ("costs $5 and $10", "costs $5 and $10"),
        (r"\emph{Deep} \textbf{nets} \cite{a,b} at Fig.~3", "Deep nets at Fig. 3"),
        (r"$O(n^{2})$ time, \frac{1}{2} of it, 5\% more, A\&B", "O(n^2) time, 1/2 of it, 5% more, A&B"),
        ("**bold** and `code`", "bold and code"),
        ("state-of-\nthe-art", "state-of-the-art"),
        ("自动\n驾驶", "自动驾驶"),
        (r"\url{https://github.com/a/b}", "https://github.com/a/b"),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


# --- edge cases -----------------------------------------------------------------------


def test_empty_abstract_gives_empty_summary_and_tldr_falls_back_to_title() -> None:
    assert extractive_tldr("") == ""
    assert extractive_tldr(" \n\t ") == ""
    paper = Paper("2506.00001", "A Title That Says It All", abstract="")
    assert tldr(paper) == "A Title That Says It All"


def test_title_fallback_is_cut_too() -> None:
    paper = Paper("2506.00001", " ".join(["Long"] * 100))
    result = tldr(paper, limit=50)
    assert len(result) <= 50 and result.endswith(ELLIPSIS) and result.startswith("Long Long")


def test_one_huge_sentence_without_spaces_is_cut_hard_to_the_limit() -> None:
    blob = "x" * 1000
    result = extractive_tldr(blob)
    assert result == "x" * 299 + ELLIPSIS


def test_sentence_exactly_at_the_limit_is_kept_whole() -> None:
    sentence = "We propose " + "a" * (300 - len("We propose .")) + "."
    assert len(sentence) == 300
    assert extractive_tldr(sentence) == sentence
    longer = "We propose aa " + "b" * (301 - len("We propose aa .")) + "."
    assert extractive_tldr(longer) == "We propose aa…"


def test_cut_never_splits_a_url() -> None:
    url = "https://github.com/some-organisation/a-rather-long-repository-name"
    text = "We propose " + "word " * 50 + "see " + url + " for code."
    result = fit(text, 300)
    assert len(result) <= 300
    assert url not in result and "https://" not in result  # the URL straddled the limit: dropped whole


def test_cut_never_splits_a_url_between_chinese_characters() -> None:
    text = "代码见https://github.com/org/repo，欢迎试用" + "后文" * 50
    assert fit(text, 20) == "代码见" + ELLIPSIS
    assert fit(text, 40) == text[:39] + ELLIPSIS  # past the URL, any character boundary will do
    assert "https://github.com/org/repo，" in fit(text, 40)


def test_trailing_punctuation_before_the_ellipsis_is_dropped() -> None:
    assert fit("alpha beta, gamma delta", 13) == "alpha beta…"


@pytest.mark.parametrize("limit", [0, -5])
def test_limit_must_be_positive(limit: int) -> None:
    with pytest.raises(ValueError):
        extractive_tldr("Some text.", limit)


def _notes(lang: str, headline: str | None, quality: TextQuality = TextQuality.CLEAN, **kw: str) -> Notes:
    return Notes(lang=lang, headline=headline, text_quality=quality, **kw)


ABSTRACT = "Background. We propose Widget, a new model. Widget achieves 90% accuracy."
EXTRACTIVE = "We propose Widget, a new model. Widget achieves 90% accuracy."


def test_headline_in_requested_language_wins() -> None:
    paper = Paper("1", "T", abstract=ABSTRACT, notes=(_notes("zh", "论文解读 | Widget：新模型"),))
    assert tldr(paper, "zh") == "论文解读 | Widget：新模型"


def test_notes_in_another_language_give_the_extractive_tldr() -> None:
    paper = Paper("1", "T", abstract=ABSTRACT, notes=(_notes("zh", "论文解读 | Widget：新模型"),))
    assert tldr(paper, "en") == EXTRACTIVE


def test_damaged_notes_give_the_extractive_tldr() -> None:
    damaged = _notes("zh", "è®ºæ–‡è§£è¯» | Widget", TextQuality.DAMAGED)
    paper = Paper("1", "T", abstract=ABSTRACT, notes=(damaged,))
    assert tldr(paper, "zh") == EXTRACTIVE


def test_repaired_notes_are_used() -> None:
    paper = Paper("1", "T", abstract=ABSTRACT, notes=(_notes("zh", "修复后的标题", TextQuality.REPAIRED),))
    assert tldr(paper, "zh") == "修复后的标题"


def test_notes_without_headline_give_the_extractive_tldr() -> None:
    paper = Paper("1", "T", abstract=ABSTRACT, notes=(_notes("en", None, method="A method."),))
    assert tldr(paper, "en") == EXTRACTIVE


def test_long_chinese_headline_is_cut_at_a_character() -> None:
    headline = "论文解读｜" + "视觉语言模型的奖励建模与偏好优化研究" * 30
    assert len(headline) > 300
    paper = Paper("1", "T", abstract=ABSTRACT, notes=(_notes("zh", headline),))
    result = tldr(paper, "zh")
    assert len(result) == 300
    assert result.endswith(ELLIPSIS)
    assert headline.startswith(result[:-1])


def test_cut_keeps_combining_marks_with_their_base() -> None:
    # Devanagari syllables: a consonant followed by a vowel sign (a combining mark).
    syllable = "कि"
    assert unicodedata.category(syllable[1]) == "Mc"
    result = fit(syllable * 200, 101)
    body = result[:-1]
    assert len(result) <= 101 and body == syllable * (len(body) // 2)


def test_cut_keeps_emoji_sequences_whole() -> None:
    family = "👩\u200d👩\u200d👧"
    flag = "🇨🇳"
    for unit in (family, flag, "e\u0301\u0302"):
        for limit in range(2, 30):
            body = fit(unit * 40, limit)[:-1]
            assert body == unit * (len(body) // len(unit)), (unit, limit)


def test_headline_whitespace_is_normalized() -> None:
    paper = Paper("1", "T", abstract=ABSTRACT, notes=(_notes("en", "  A  headline\nwrapped "),))
    assert tldr(paper, "en") == "A headline wrapped"


def test_tldr_lang_values() -> None:
    assert TLDR_LANGS == ("en", "zh")
    assert parse_tldr_lang(" ZH ") == "zh"
    with pytest.raises(ValueError):
        parse_tldr_lang("fr")


# --- properties -----------------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Whitespace tokens, with each character of a space-less script (Chinese) a word of its own.

    That is the module's own notion of a word boundary, hence the shared character class.
    """
    out: list[str] = []
    for token in text.split():
        out.extend(re.findall(f"{CJK_CHAR.pattern}|(?:(?!{CJK_CHAR.pattern}).)+", token))
    return out


_prose_alphabet = st.sampled_from(
    list("abcdefgh ABCDE  .,;:!?()%$\\{}~-_/\n\t") + ["e.g.", "et al.", "Fig.", "3.5", "https://", "github.com/",
     "We propose ", " outperforms ", "中", "文", "。", "，", "”", "\u0301", "👩\u200d👧", "…"]
)
prose = st.lists(_prose_alphabet, max_size=120).map("".join)
any_text = st.one_of(st.text(max_size=600), prose)
limits = st.integers(min_value=1, max_value=400)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(text=any_text, limit=limits)
@example(text="x" * 1000, limit=300)
@example(text="甲。”abc 乙。丙。", limit=5)
def test_extractive_tldr_properties(text: str, limit: int) -> None:
    result = extractive_tldr(text, limit)
    assert len(result) <= limit
    assert result == extractive_tldr(text, limit)  # deterministic
    normalized = normalize_text(text)
    if normalized:
        assert result
    # A result ending in "…" was cut (or the input said "…" itself; the check holds then too).
    cut = result.endswith(ELLIPSIS)
    body = result[: -len(ELLIPSIS)] if cut else result
    input_words = set(_words(normalized))
    result_words = _words(body)
    whole = result_words[:-1] if cut else result_words
    assert all(word in input_words for word in whole), (whole, input_words)
    if cut and result_words:
        # The one word before "…" may have lost trailing punctuation, never its middle.
        assert any(word.startswith(result_words[-1]) for word in input_words)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="ascii"), max_size=400), limit=limits)
def test_tokens_are_input_tokens_in_spaced_text(text: str, limit: int) -> None:
    """The plain form of the rule: every token but the one ending in "…" is an input token."""
    result = extractive_tldr(text, limit)
    tokens = set(normalize_text(text).split())
    assert all(token in tokens or token.endswith(ELLIPSIS) for token in result.split())


@settings(max_examples=200, deadline=None)
@given(text=any_text, limit=limits)
def test_fit_properties(text: str, limit: int) -> None:
    result = fit(text, limit)
    assert len(result) <= limit
    assert result == text if len(text) <= limit else result.endswith(ELLIPSIS)


# --- code links -----------------------------------------------------------------------

CODE_URLS = [
    ("trailing-period", ("Code is available at https://github.com/NLPGM/PCogAlign.",), "https://github.com/NLPGM/PCogAlign"),
    ("paren-comma", ("Our tool (code: https://github.com/org/tool), is fast.",), "https://github.com/org/tool"),
    ("latex-url", (r"Code: \url{https://github.com/a/b}.",), "https://github.com/a/b"),
    ("angle-brackets", ("Code at <https://gitlab.com/group/proj>.",), "https://gitlab.com/group/proj"),
    ("hf-co-no-scheme", ("Weights: hf.co/org/model-7b.",), "https://hf.co/org/model-7b"),
    ("github-io-project-page", ("Project page: https://shuaiyihuang.github.io/publications/TREND.",),
     "https://shuaiyihuang.github.io/publications/TREND"),
    ("prefer-github-over-dataset", (
        "Our dataset is at https://huggingface.co/datasets/org/ds and the code at https://github.com/org/repo.",),
     "https://github.com/org/repo"),
    ("prefer-github-over-zenodo", (
        "Data are available at https://zenodo.org/records/123; code at github.com/org/repo.",),
     "https://github.com/org/repo"),
    ("no-link", ("We propose a method. It works well.",), None),
    ("arxiv-only", ("Extended version of https://arxiv.org/abs/2401.00001.",), None),
    ("doi-only", ("Published as https://doi.org/10.1000/xyz123.",), None),
    ("nothing-at-all", (None, None), None),
    ("comment-holds-the-link", ("An abstract with no link.", "Accepted at CVPR 2025. Code: github.com/a/b"),
     "https://github.com/a/b"),
    ("repo-in-comment-beats-page-in-abstract", (
        "Project page: https://me.github.io/proj", "Code: https://github.com/me/proj"), "https://github.com/me/proj"),
    ("url-wrapped-after-slash", ("Code: https://github.com/NLPGM/\nPCogAlign.",), "https://github.com/NLPGM/PCogAlign"),
    ("url-wrapped-after-hyphen", ("Page: https://a.github.io/long-\nname/ for details",), "https://a.github.io/long-name/"),
    ("line-break-after-finished-url", ("Code: https://github.com/a/b\nWe also show more.",), "https://github.com/a/b"),
    ("no-join-into-next-sentence", ("See https://github.com/a/b/\nThen we go.",), "https://github.com/a/b/"),
    ("balanced-parentheses-stay", ("Project page: https://en.wikipedia.org/wiki/Foo_(bar).",),
     "https://en.wikipedia.org/wiki/Foo_(bar)"),
    ("markdown-link", ("[[Code/Page](https://github.com/facebookresearch/multimodal_rewardbench.)]",),
     "https://github.com/facebookresearch/multimodal_rewardbench"),
    ("latex-escaped-underscore", (r"Code: https://github.com/a/my\_repo.",), "https://github.com/a/my_repo"),
    ("google-sites", ("Videos: https://sites.google.com/view/vlm-rm.",), "https://sites.google.com/view/vlm-rm"),
    ("bitbucket", ("Source: bitbucket.org/team/tool;",), "https://bitbucket.org/team/tool"),
    ("codeberg-quoted", ('"https://codeberg.org/x/y"',), "https://codeberg.org/x/y"),
    ("hf-papers-page-is-not-code", ("See https://huggingface.co/papers/2506.03517.",), None),
    ("uncued-other-url", ("We compare with the method at https://openai.com/research.",), None),
    ("cued-other-url", ("Project website: https://www.example.org/proj/index.html.",),
     "https://www.example.org/proj/index.html"),
    ("bare-github-host", ("Hosted on GitHub (github.com).",), None),
    ("chinese-punctuation", ("代码：https://github.com/a/b。",), "https://github.com/a/b"),
    ("wrap-then-prose-word", ("Page: https://me.github.io/\nand data at https://zenodo.org/r/1.",),
     "https://me.github.io/"),
    ("finished-repo-then-prose", ("Code: https://github.com/a/b/\nrepository of baselines.",), "https://github.com/a/b/"),
    ("repo-wrapped-into-subpath", ("Code: https://github.com/a/b/\ntree/main/src",), "https://github.com/a/b/tree/main/src"),
    ("cued-repo-beats-cited-repo", (
        "We build on LLaVA (https://github.com/haotian-liu/LLaVA). Code: https://github.com/me/mine.",),
     "https://github.com/me/mine"),
    ("org-page-loses-to-repo", ("Org: https://github.com/org and repo https://github.com/org/repo",),
     "https://github.com/org/repo"),
]


@pytest.mark.parametrize("texts, expected", [c[1:] for c in CODE_URLS], ids=[c[0] for c in CODE_URLS])
def test_find_code_url(texts: tuple[str | None, ...], expected: str | None) -> None:
    assert find_code_url(*texts) == expected


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), any_text), max_size=3))
def test_find_code_url_properties(texts: list[str | None]) -> None:
    url = find_code_url(*texts)
    assert url == find_code_url(*texts)
    if url is not None:
        assert re.match(r"(?:https?|ftp)://", url)
        assert not any(ch.isspace() for ch in url)
        assert url[-1] not in ".,;:'\"}]"
        assert "arxiv.org" not in url.split("/")[2]
