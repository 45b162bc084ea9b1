"""One-line TLDRs and code links for papers, computed locally and deterministically.

Every card in a list or a digest shows a TLDR, and most papers never get
hand-written notes, so the bot needs a summary it can compute for any paper
without a network call or a model: the abstract's own contribution sentence
(plus a result sentence when there is room) is what a reader skims for anyway.
When the group's notes have a headline in the language the workspace reads
(`tldr_lang`), that human summary wins.

The same goes for code links: paper lists and arXiv comments mention the
repository in free text ("Code: github.com/x/y.", `\\url{...}`, a URL split by
a hard line wrap), and a card should carry a link that works.

Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final, Literal, get_args
from urllib.parse import urlsplit

from bot.models import Paper, TextQuality
from bot.text import CJK_CHAR, CJK_RANGES, LazyPattern, may_have_cjk, shorten

__all__ = [
    "DEFAULT_TLDR_LANG",
    "ELLIPSIS",
    "TLDR_LANGS",
    "TLDR_LIMIT",
    "TldrLang",
    "extractive_tldr",
    "find_code_url",
    "fit",
    "normalize_text",
    "parse_tldr_lang",
    "split_sentences",
    "tldr",
]

TldrLang = Literal["en", "zh"]
TLDR_LANGS: Final[tuple[str, ...]] = get_args(TldrLang)
DEFAULT_TLDR_LANG: Final = "en"
TLDR_LIMIT: Final = 300
ELLIPSIS: Final = "…"


def parse_tldr_lang(value: str) -> TldrLang:
    """Validate a `tldr_lang` setting; a typo should fail at start-up, not hide notes."""
    lang = value.strip().lower()
    if lang not in TLDR_LANGS:
        raise ValueError(f"tldr_lang must be one of {', '.join(TLDR_LANGS)}, not {value!r}")
    return lang  # type: ignore[return-value]


# --- the TLDR -----------------------------------------------------------------------


def tldr(paper: Paper, lang: str = DEFAULT_TLDR_LANG, limit: int = TLDR_LIMIT) -> str:
    """The paper's TLDR: the notes' headline in `lang`, else a summary of the abstract, else the title."""
    _check_limit(limit)
    notes = paper.notes_in(lang)
    # Damaged notes are mojibake; showing them as a TLDR would present garbage as a summary.
    if notes is not None and notes.headline and notes.text_quality is not TextQuality.DAMAGED:
        headline = normalize_text(notes.headline)
        if headline:
            return fit(headline, limit)
    summary = extractive_tldr(paper.abstract, limit)
    if summary:
        return summary
    return fit(normalize_text(paper.title), limit)


def extractive_tldr(abstract: str, limit: int = TLDR_LIMIT) -> str:
    """The abstract's contribution sentence(s), then one result sentence if it fits, in reading order.

    With no contribution cue the abstract's leading sentences stand in. A first
    choice longer than `limit` is cut at a word boundary and ends in "…".
    """
    _check_limit(limit)
    sentences = [_score(i, s) for i, s in enumerate(split_sentences(normalize_text(abstract)))]
    if not sentences:
        return ""
    chosen = _choose(sentences, limit)
    if len(chosen) == 1:
        return fit(chosen[0].text, limit)
    return _join([s.text for s in sorted(chosen, key=lambda s: s.index)])


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")


# --- text normalisation -----------------------------------------------------------------

_GREEK_AND_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω", "ell": "ℓ",
    "times": "×", "sim": "~", "approx": "≈", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥",
    "neq": "≠", "pm": "±", "cdot": "·", "infty": "∞", "to": "→", "rightarrow": "→",
    "leftarrow": "←", "in": "∈", "dots": "…", "ldots": "…", "cdots": "…", "degree": "°",
}
# Private-use stand-ins, so that escaped \$, \{ and \} survive math and brace removal.
_DOLLAR, _LBRACE, _RBRACE = "\uf8ff", "\uf8fe", "\uf8fd"
# Lazy: only text with LaTeX in it (`_strip_latex`) needs them, and a lookup's abstracts may have none.
_LATEX_DROP = LazyPattern(r"\s*\\(?:cite[pt]?|citeauthor|ref|eqref|label|footnote)\*?\{[^{}]*\}")
_LATEX_LINK = LazyPattern(r"\\(?:url|href)\{([^{}]*)\}(?:\{([^{}]*)\})?")
_LATEX_FRAC = LazyPattern(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_LATEX_COMMAND = LazyPattern(r"\\([A-Za-z]+)(\s?)")
_LATEX_ESCAPE = LazyPattern(r"\\([%&_#{}~^])")
_DISPLAY_MATH = LazyPattern(r"\$\$(.+?)\$\$", re.S)
# `$` must hug its contents on both sides, so "$5 and $10" stays as written.
_INLINE_MATH = LazyPattern(r"\$(?=\S)([^$]*?\S)\$")
_LATEX_TILDE = LazyPattern(r"(?<=[\w.,])~(?=[\w(])")
_HYPHEN_WRAP = re.compile(r"(?<=[^\W\d_]-)[ \t]*\r?\n[ \t]*(?=[^\W\d_])")
# In a script written without spaces (`bot.text.CJK_CHAR`), a line break is no word break.
_CJK_WRAP = LazyPattern(f"(?<=[{CJK_RANGES}])[ \\t]*\\r?\\n[ \\t]*(?=[{CJK_RANGES}])")
_MARKDOWN_NOISE = re.compile(r"\*\*|__|`")


def normalize_text(text: str | None) -> str:
    """Abstract or notes text as one clean line: hard wraps joined, LaTeX/markdown noise removed.

    Light on purpose: math keeps its inner text (`$\\alpha$-divergence` reads
    `α-divergence`), and anything not understood is left alone rather than guessed.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text)
    # A hard wrap after a hyphen is inside a compound ("vision-\nlanguage"), and in
    # Chinese a wrap is no word break at all, so neither may become a space.
    text = _HYPHEN_WRAP.sub("", text)
    if may_have_cjk(text):  # no CJK to join otherwise, and a lookup is spared compiling the class
        text = _CJK_WRAP.sub("", text)
    text = _strip_latex(text)
    text = _MARKDOWN_NOISE.sub("", text)
    return " ".join(text.split())


def _strip_latex(text: str) -> str:
    if "\\" not in text and "$" not in text and "{" not in text and "~" not in text:
        return text
    text = text.replace("\\$", _DOLLAR)
    text = _LATEX_TILDE.sub(" ", text)  # "Fig.~3" is a non-breaking space, not a tilde
    text = _DISPLAY_MATH.sub(r"\1", text)
    text = _INLINE_MATH.sub(r"\1", text)
    text = _LATEX_DROP.sub("", text)
    text = _LATEX_LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = _LATEX_FRAC.sub(r"\1/\2", text)
    text = _LATEX_ESCAPE.sub(lambda m: {"{": _LBRACE, "}": _RBRACE}.get(m.group(1), m.group(1)), text)
    text = text.replace("\\\\", " ").replace("\\(", "").replace("\\)", "")
    text = text.replace("\\[", "").replace("\\]", "")
    text = _LATEX_COMMAND.sub(_latex_command, text)
    text = text.replace("{", "").replace("}", "")
    return text.replace(_LBRACE, "{").replace(_RBRACE, "}").replace(_DOLLAR, "$")


def _latex_command(match: re.Match[str]) -> str:
    name, space = match.group(1), match.group(2)
    if name in _GREEK_AND_SYMBOLS:
        return _GREEK_AND_SYMBOLS[name] + space
    # Formatting commands (\textbf, \mathcal, ...) vanish; their braced argument stays.
    if match.end() < len(match.string) and match.string[match.end()] == "{":
        return ""
    return name + space


# --- sentences ------------------------------------------------------------------------

# Tokens that end in a period without ending a sentence. "etc." is not among
# them: before a capital it almost always does end one.
_ABBREVIATIONS = frozenset(
    """
    e.g. i.e. cf. vs. v.s. viz. al. approx. resp. w.r.t. a.k.a. incl. ca. esp.
    fig. figs. eq. eqs. sec. secs. tab. tabs. ref. refs. no. nos. vol. pp. ch. app. appx.
    thm. def. alg. lem. prop. cor. ex. dr. mr. mrs. ms. prof. st. jr. sr. inc. ltd. co.
    corp. univ. dept. est. max. min. avg. std. var. nat. int. conf. proc. trans. jan. feb.
    mar. apr. jun. jul. aug. sep. sept. oct. nov. dec. u.s. u.k. e.u.
    """.split()
)
# A full stop, question or exclamation mark (with its closing quotes) before whitespace.
_SPACED_SENTENCE_END = r"[.!?…]+[\"'”’)\]]*(?=\s)"
# A Chinese full stop needs no space after it; a closing quote after it belongs to
# the sentence only when it does not run straight into the next word.
_SENTENCE_END = LazyPattern(_SPACED_SENTENCE_END + f"|[。！？]+(?:[」』）]|[”’)\"'](?=\\s|$|[{CJK_RANGES}]))*")
# Text without CJK (`may_have_cjk`) cannot match the Chinese branch: its ends are found without
# it, and a lookup of English abstracts is spared compiling the CJK class.
_LATIN_SENTENCE_END = re.compile(_SPACED_SENTENCE_END)
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+")


def split_sentences(text: str) -> list[str]:
    """Split normalised text into sentences, keeping abbreviations, decimals and URLs whole.

    A period ends a sentence only when whitespace and a capital, digit or
    bracket follow it and the word it closes is no abbreviation ("e.g.", "Fig.",
    "et al."); decimals, versions and URLs never have whitespace after their dots.
    Chinese full stops end a sentence wherever they are.
    """
    sentences, start = [], 0
    for match in (_SENTENCE_END if may_have_cjk(text) else _LATIN_SENTENCE_END).finditer(text):
        end = match.end()
        if match.group()[0] in ".!?…" and not _ends_sentence(text, match.start(), end):
            continue
        sentence = text[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = end
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _ends_sentence(text: str, punct_start: int, end: int) -> bool:
    following = text[end:].lstrip()
    if not following:
        return True
    first = following[0]
    if first in "\"'“‘([" and len(following) > 1:
        first = following[1]
    if not (first.isupper() or first.isdigit() or _is_cjk(first)):
        return False
    if text[punct_start] != ".":
        return True
    word_start = text.rfind(" ", 0, punct_start) + 1
    word = text[word_start:punct_start + 1].lstrip("\"'“‘([").lower()
    if word in _ABBREVIATIONS or word.endswith("et al."):
        return False
    # Initials ("J. Smith", "U.S.") are single letters followed by a dot.
    return not (_INITIALS.fullmatch(word) and len(word) <= 4)


# --- scoring --------------------------------------------------------------------------

_STRONG_CONTRIBUTION = re.compile(
    r"\bwe\s+(?:\w+ly\s+|also\s+|further\s+|then\s+|first\s+|here\s+|now\s+)?"
    r"(?:propose|introduce|present)s?\b"
    r"|\bthis\s+(?:paper|work|study|article|report)\s+(?:\w+ly\s+)?(?:propose|present|introduce|describe)s\b"
    r"|\bin\s+this\s+(?:paper|work|study|article|report),?\s+we\b"
    r"|(?:本文|我们)(?:首次)?(?:提出|介绍|设计)",
    re.I,
)
_MEDIUM_CONTRIBUTION = re.compile(
    r"\bwe\s+(?:\w+ly\s+|also\s+|further\s+)?(?:develop|design|build|devise|contribute)\b"
    r"|\bour\s+(?:proposed\s+)?(?:method|approach|framework|model|system|algorithm|technique)\b",
    re.I,
)
_WEAK_CONTRIBUTION = re.compile(r"\bwe\s+(?:\w+ly\s+|also\s+|further\s+)?show\b", re.I)
# A contribution sentence that names the thing ("we propose TREND", "a framework
# called PCogAlign") is the one a reader remembers. Plural acronyms ("VLMs") are
# what everyone uses, not a name.
_NAMED = re.compile(r"\b(?:called|named|dubbed|termed)\b|\b[A-Za-z][\w-]*[A-Z][\w-]*\b(?<![A-Z]s)")
_RESULT_CUES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"\d(?:[\d.,]*\d)?\s?%|\d+(?:\.\d+)?\s?(?:×|x\b)|百分点"), 2),
    # "state-of-the-art" alone often describes the baselines ("we test state-of-the-art
    # VLMs"); it is a result only when reached or when it qualifies performance.
    (re.compile(r"\b(?:achiev|set|establish|attain|reach|yield|obtain|deliver)\w*\s+(?:\w+\s+){0,3}?"
                r"(?:state[- ]of[- ]the[- ]art|sota)\b|\b(?:state[- ]of[- ]the[- ]art|sota)\s+"
                r"(?:\w+\s+)?(?:performance|results?|accuracy)\b|\bnew\s+(?:state[- ]of[- ]the[- ]art|sota)\b"
                r"|最优|最先进", re.I), 2),
    (re.compile(r"\b(?:outperform|surpass)\w*|优于|超越|超过", re.I), 2),
    (re.compile(r"\b(?:results?|experiments?|evaluations?)\s+(?:\w+\s+){0,4}?"
                r"(?:show|demonstrate|indicate|confirm|reveal|suggest)s?\b", re.I), 1),
    (re.compile(r"\bachiev\w*|\bimprov\w*|提升|达到", re.I), 1),
)


@dataclass(frozen=True)
class _Sentence:
    index: int
    text: str
    contribution: int
    result: int
    strong: bool


def _score(index: int, text: str) -> _Sentence:
    return _Sentence(
        index, text, _contribution_score(text), _result_score(text),
        strong=bool(_STRONG_CONTRIBUTION.search(text)),
    )


def _contribution_score(text: str) -> int:
    for pattern, score in ((_STRONG_CONTRIBUTION, 3), (_MEDIUM_CONTRIBUTION, 2), (_WEAK_CONTRIBUTION, 1)):
        match = pattern.search(text)
        if match:
            return score + (1 if _NAMED.search(text, match.end()) else 0)
    return 0


def _result_score(text: str) -> int:
    return sum(weight for pattern, weight in _RESULT_CUES if pattern.search(text))


def _choose(sentences: list[_Sentence], limit: int) -> list[_Sentence]:
    """Which sentences make the TLDR; always at least one."""
    by_contribution = sorted(
        (s for s in sentences if s.contribution), key=lambda s: (-s.contribution, s.index)
    )
    if not by_contribution:
        return _leading(sentences, limit)
    chosen = [by_contribution[0]]
    # Only another "we propose/introduce/present" may join the lead: a weaker cue
    # ("our method ...", "we show ...") is usually detail or a finding, and the
    # result sentence that follows says more in the same room.
    for extra in by_contribution[1:]:
        if extra.strong and _fits(chosen + [extra], limit):
            chosen.append(extra)
    # Results follow the contribution; a cue before it ("state-of-the-art VLMs are
    # black boxes") is part of the motivation.
    lead = chosen[0].index
    by_result = sorted(
        (s for s in sentences if s.result and s.index > lead and s not in chosen),
        key=lambda s: (-s.result, s.index),
    )
    for candidate in by_result:
        if _fits(chosen + [candidate], limit):
            chosen.append(candidate)
            break
    return chosen


def _leading(sentences: list[_Sentence], limit: int) -> list[_Sentence]:
    chosen = [sentences[0]]
    for sentence in sentences[1:]:
        if not _fits(chosen + [sentence], limit):
            break
        chosen.append(sentence)
    return chosen


def _fits(sentences: list[_Sentence], limit: int) -> bool:
    return len(_join([s.text for s in sorted(sentences, key=lambda s: s.index)])) <= limit


def _is_cjk(char: str) -> bool:
    """`CJK_CHAR` for one character; an ASCII one is answered without compiling the class (ms a lookup)."""
    return not char.isascii() and CJK_CHAR.match(char) is not None


def _join(parts: list[str]) -> str:
    # Chinese sentences run on without a space; everything else gets one.
    out = parts[0] if parts else ""
    for part in parts[1:]:
        cjk = _is_cjk(out[-1]) and _is_cjk(part[0])
        out += part if cjk else " " + part
    return out


# --- cutting to a limit ---------------------------------------------------------------


def fit(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its longest word-safe prefix plus "…".

    The cut is `bot.text.shorten`'s: on whitespace, or between two characters of
    a script written without spaces (Chinese, Japanese); never inside a URL or
    a grapheme. Only a text with no such boundary in reach (one enormous token)
    is cut mid-token, at a grapheme boundary, because the limit is a hard one.
    """
    _check_limit(limit)
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS  # no room for any text
    return shorten(text, limit, ELLIPSIS, strip=False)


# --- code links -----------------------------------------------------------------------

_CODE_HOSTS = frozenset({"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "gitee.com"})
_HF_HOSTS = frozenset({"huggingface.co", "hf.co"})
_EXCLUDED_HOSTS = ("arxiv.org", "doi.org")
_PAGE_SUFFIXES = (".github.io", ".gitlab.io")
_BARE_HOSTS = (
    r"(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|gitee\.com|huggingface\.co|hf\.co|sites\.google\.com)"
    r"|[\w-]+(?:\.[\w-]+)*\.git(?:hub|lab)\.io"
)
# URL characters: no whitespace, no wrappers (<>, {}, quotes), no CJK text or punctuation.
_URL_CHARS = f"[^\\s<>\"'`{{}}|\\\\^{CJK_RANGES}]"
_ANY_URL = LazyPattern(
    rf"(?:https?|ftp)://{_URL_CHARS}+"
    rf"|(?<![\w@./:-])(?:{_BARE_HOSTS})(?:/{_URL_CHARS}*)?(?![\w.-]*\w)"
    rf"|(?<![\w@./:-])www\.{_URL_CHARS}+",
    re.I,
)
_URL_START = LazyPattern(rf"(?:https?|ftp)://|(?<![\w@./:-])(?:www\.|{_BARE_HOSTS})", re.I)
# Whole tokens only (the look-behind), and the next line stays unconsumed (the
# look-ahead) so it can itself be a wrapped URL's head.
_WRAPPED_URL = LazyPattern(rf"(?<!{_URL_CHARS})({_URL_CHARS}+)[ \t]*\r?\n[ \t]*(?=({_URL_CHARS}+))")
_TRAILING_PUNCT = ".,;:!?'\"}]>)*…。，；：！？、）】」』"
_LINK_CUE = LazyPattern(  # only for a text with a link in it
    r"\b(?:project\s+(?:page|website|site)|home\s*page|web\s*site|web\s*page|code|codes|"
    r"source|implementation|repository|repo|demo|available|released?|github)\b|代码|项目",
    re.I,
)
_CUE_WINDOW = 60
_PROSE_WORDS = frozenset(
    "a an and are as at be by for from in is it of on or our see the this to we where which with".split()
)


def find_code_url(*texts: str | None) -> str | None:
    """The best code or project link mentioned in `texts` (say an abstract and an arXiv comment).

    Repositories (GitHub, GitLab, Bitbucket, Codeberg, Gitee) beat Hugging Face
    models and spaces, which beat datasets, which beat project pages
    (`*.github.io`, Google Sites), which beat any other URL a cue such as
    "project page", "code" or "available at" introduces. Within a tier a link
    introduced by such a cue wins, then the earliest mention. arXiv and DOI
    links never count.
    """
    best: tuple[tuple[int, bool, int, int], str] | None = None
    for text_index, text in enumerate(texts):
        if not text:
            continue
        for position, url, cued in _urls_in(text):
            tier = _tier(url, cued)
            if tier is None:
                continue
            # Within a tier, "Code: github.com/me/x" beats "we build on github.com/them/y".
            key = (tier, not cued, text_index, position)
            if best is None or key < best[0]:
                best = (key, url)
    return best[1] if best else None


def _urls_in(text: str) -> list[tuple[int, str, bool]]:
    """(position, cleaned URL, introduced by a cue word) for each link in `text`."""
    text = _LATEX_ESCAPE.sub(r"\1", unicodedata.normalize("NFC", text))
    text = _join_wrapped_urls(text)
    found = []
    for match in _ANY_URL.finditer(text):
        url = _strip_trailing(match.group())
        if "." not in url.split("/", 3)[2 if "://" in url else 0]:
            continue
        if "://" not in url:
            url = "https://" + url
        before = text[max(0, match.start() - _CUE_WINDOW):match.start()]
        # Only the clause the link belongs to: a cue in the previous sentence is not about it.
        before = re.split(r"[.;!?。；！？]\s", before)[-1]
        found.append((match.start(), url, bool(_LINK_CUE.search(before))))
    return found


def _join_wrapped_urls(text: str) -> str:
    """Undo hard line wraps inside a URL, but only where the break is plainly inside its path."""

    def rejoin(match: re.Match[str]) -> str:
        head, tail = match.group(1), match.group(2)
        start = _URL_START.search(head)
        if start and _continues(head[start.start():], tail):
            return head
        return match.group()

    for _ in range(8):  # a URL wrapped over several lines needs several passes
        joined = _WRAPPED_URL.sub(rejoin, text)
        if joined == text:
            break
        text = joined
    return text


def _continues(url: str, tail: str) -> bool:
    if tail.startswith("/"):
        return "." in url
    if url[-1] not in "/-_?=&#~%" or not (tail[0].isalnum() or tail[0] in "_~%-"):
        # "…/repo" then "We show …" on the next line is a finished URL and a new sentence.
        return False
    word = tail.rstrip(_TRAILING_PUNCT)
    if word.lower() in _PROSE_WORDS:
        return False  # "https://x.github.io/" then "and the data ...": the URL was finished
    segments = _path_segments("https://" + url.split("://")[-1])
    if _host(url) in _CODE_HOSTS:
        # A repository link is unfinished until it names owner and repository; after
        # that only a sub-path ("tree/main") can continue it.
        return len(segments) < 2 or "/" in word
    # "…/" then a capitalised word is as likely a new sentence as a path.
    return not re.fullmatch(r"[A-Z][a-z]+", word)


def _strip_trailing(url: str) -> str:
    while url and url[-1] in _TRAILING_PUNCT:
        last = url[-1]
        if last == ")" and url.count("(") >= url.count(")"):
            break  # balanced, as in a Wikipedia title: part of the URL
        if last == "]" and url.count("[") >= url.count("]"):
            break
        url = url[:-1]
    return url


def _tier(url: str, cued: bool) -> int | None:
    host = _host(url)
    if not host or any(host == h or host.endswith("." + h) for h in _EXCLUDED_HOSTS):
        return None
    segments = _path_segments(url)
    if host in _CODE_HOSTS:
        if not segments:
            return None
        return 0 if len(segments) >= 2 else 1  # an org page is a weaker link than a repository
    if host in _HF_HOSTS:
        if not segments or segments[0] == "papers":
            return None  # the paper's HF page is another copy of the abstract, not code
        return 3 if segments[0] == "datasets" else 2
    if host.endswith(_PAGE_SUFFIXES) or (host == "sites.google.com" and segments):
        return 4
    return 5 if cued else None


def _host(url: str) -> str:
    try:
        host = urlsplit(url if "://" in url else "https://" + url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _path_segments(url: str) -> list[str]:
    try:
        path = urlsplit(url).path
    except ValueError:
        return []
    return [segment for segment in path.split("/") if segment]
