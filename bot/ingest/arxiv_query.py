"""arXiv search queries: checked when config loads, evaluated locally on bulk imports.

A topic declares its papers with an arXiv API query, e.g.
`(abs:"reward model" OR abs:"preference") AND (abs:VLM OR abs:"vision-language")`.
The arXiv fetcher sends that text to the API as it is; this module exists for
the two other places that need to understand it without asking arXiv:

- config loading: `parse_query` rejects a bad query with a message that says
  what is wrong and at which column, instead of a topic that silently never
  receives a paper;
- snapshot imports: a snapshot of all arXiv has no topics, so each paper is
  tested against every topic's query here (`topic_matches`), and a paper
  lands in the same topics the API would have put it in.

The rules, chosen to mimic arXiv's Lucene index where it is well defined:

- Operators are `AND`, `OR`, `ANDNOT`, uppercase only (`and` is a search word).
  Parentheses first, then `AND`/`ANDNOT` (same level, left to right), then
  `OR`: `a OR b AND c` is `a OR (b AND c)`; `a ANDNOT b AND c` is
  `a AND c ANDNOT b`. Terms side by side mean `AND`: `ti:reward model` is
  `ti:reward AND all:model`. A term without a field means `all:`; inside
  `ti:( ... )` it means `ti:`.
- Fields: ti title, abs abstract, au authors, cat categories, co comment,
  jr journal ref, id arXiv id, all = title + abstract + authors + comment +
  journal ref + categories. rn (report number) is accepted but never matches
  locally: `Paper` has no report number.
- Words are compared folded (case, accents, LaTeX accents) and Porter-stemmed,
  so `abs:preference` matches "preferences". A quoted phrase, and an unquoted
  term that folds to several words (`vision-language`), must match those stems
  consecutively within one field (one author, one category). A trailing `*`
  is a prefix match on the unstemmed words (`reinforc*`). Unlike Lucene, stop
  words are kept, so `abs:"learning from feedback"` needs the "from".
- `au:` matches within one author name: every word must occur in it, in any
  order, a one-letter word matching an initial; `_` reads as a space, so
  `au:hinton`, `au:G_Hinton` and `au:del_maestro` work.
- `cat:cs.CV` is exact, `cat:cs` is the whole archive, `cat:cs.*` any prefix.
  `id:` compares versionless ids (`id:2506.03517v2` finds 2506.03517).

Speed: a snapshot import tests a million papers against every topic. A query
is compiled once into closures; a paper is wrapped once in a `PaperTokens`,
shared by all topics, whose per-field views (folded text, words, stems) are
built on first use. Most papers contain none of a topic's words, so each
word test first looks for a probe substring in the folded text (microseconds,
no tokenizing); only papers that pass pay for splitting and stemming the
field, then a set lookup, and for a phrase a substring search over the
space-joined stems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import chain
from operator import attrgetter
from typing import Callable, Iterable

from bot.arxiv_ids import parse_arxiv_id
from bot.errors import QuerySyntaxError
from bot.ingest.text_tokens import fold, stem_set, stems, words
from bot.models import Paper, Topic

FIELDS = ("ti", "abs", "au", "cat", "co", "jr", "rn", "id", "all")
OPERATORS = ("AND", "OR", "ANDNOT")
# Deeper nesting than this is no one's real query, and it keeps recursion far from Python's limit.
MAX_DEPTH = 50

_FIELD_LIST = ", ".join(FIELDS)
_FIELD_PREFIX_RE = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_CATEGORY_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*(?:\.[A-Za-z]+(?:-[A-Za-z]+)*)?")
_CATEGORY_PREFIX_RE = re.compile(r"[A-Za-z][A-Za-z.-]*")
_ID_PREFIX_RE = re.compile(r"[A-Za-z0-9./-]+")
_TEXT_FIELDS = ("ti", "abs", "au", "co", "jr", "cat")  # what `all:` searches


# --- the syntax tree --------------------------------------------------------------------


class QueryNode:
    """A parsed query. `str(node)` is its canonical arXiv spelling; `matches` tests a paper."""

    def matches(self, paper: Paper | PaperTokens) -> bool:
        return self._matcher(paper_tokens(paper))

    def to_arxiv(self) -> str:
        return str(self)

    def fields(self) -> frozenset[str]:
        """The fields the query searches, e.g. to warn that `rn:` cannot match locally."""
        raise NotImplementedError

    @cached_property
    def _matcher(self) -> Callable[[PaperTokens], bool]:
        return _compile(self)


@dataclass(frozen=True)
class Term(QueryNode):
    """One search term: a word, a phrase (`quoted`) or a prefix (`wildcard`), in one field.

    `text` is kept as typed (minus the `*`), so logs and the API see the user's words.
    """

    field: str
    text: str
    quoted: bool = False
    wildcard: bool = False

    def __str__(self) -> str:
        if self.quoted:
            return f'{self.field}:"{self.text}"'
        return f"{self.field}:{self.text}{'*' if self.wildcard else ''}"

    def fields(self) -> frozenset[str]:
        return frozenset((self.field,))


@dataclass(frozen=True)
class And(QueryNode):
    """All of `required` and none of `excluded`: `a AND b ANDNOT c` is And((a, b), (c,))."""

    required: tuple[QueryNode, ...]
    excluded: tuple[QueryNode, ...] = ()

    def __str__(self) -> str:
        kept = " AND ".join(_parenthesized(n, Or) for n in self.required)
        return kept + "".join(f" ANDNOT {_parenthesized(n, (And, Or))}" for n in self.excluded)

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(n.fields() for n in self.required + self.excluded))


@dataclass(frozen=True)
class Or(QueryNode):
    """Any of `options`."""

    options: tuple[QueryNode, ...]

    def __str__(self) -> str:
        return " OR ".join(str(n) for n in self.options)

    def fields(self) -> frozenset[str]:
        return frozenset().union(*(n.fields() for n in self.options))


def _parenthesized(node: QueryNode, needs_parens: type | tuple[type, ...]) -> str:
    return f"({node})" if isinstance(node, needs_parens) else str(node)


def _make_and(required: list[QueryNode], excluded: list[QueryNode]) -> QueryNode:
    # Flatten nested conjunctions so equal queries give equal trees, however they were bracketed.
    flat_required: list[QueryNode] = []
    flat_excluded = list(excluded)
    for node in required:
        if isinstance(node, And):
            flat_required.extend(node.required)
            flat_excluded.extend(node.excluded)
        else:
            flat_required.append(node)
    if len(flat_required) == 1 and not flat_excluded:
        return flat_required[0]
    return And(tuple(flat_required), tuple(flat_excluded))


def _make_or(options: list[QueryNode]) -> QueryNode:
    flat = list(chain.from_iterable(n.options if isinstance(n, Or) else (n,) for n in options))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


# --- lexer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "AND", "OR", "ANDNOT", "TERM", "GROUP" (a `field:(`), "END"
    position: int
    text: str = ""
    field: str | None = None
    quoted: bool = False


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token(ch, i))
            i += 1
        elif ch == '"':
            start = i
            text, i = _read_phrase(query, start)
            tokens.append(_Token("TERM", start, text, quoted=True))
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in '()"':
                i += 1
            token, i = _word_token(query, start, query[start:i])
            tokens.append(token)
    tokens.append(_Token("END", n))
    _check_parentheses(query, tokens)
    return tokens


def _read_phrase(query: str, start: int) -> tuple[str, int]:
    """The text between the quote at `start` and its partner, and the offset after it."""
    end = query.find('"', start + 1)
    if end < 0:
        raise QuerySyntaxError(f"unbalanced quote: '\"' at column {start + 1} is never closed", start, query)
    return query[start + 1 : end], end + 1


def _word_token(query: str, start: int, chunk: str) -> tuple[_Token, int]:
    end = start + len(chunk)
    if chunk in OPERATORS:
        return _Token(chunk, start), end
    if chunk == "NOT":
        raise QuerySyntaxError(f"'NOT' at column {start + 1} is not an arXiv operator: use ANDNOT", start, query)
    prefixed = _FIELD_PREFIX_RE.fullmatch(chunk)
    if not prefixed:
        return _Token("TERM", start, chunk), end
    field, rest = prefixed.group(1).lower(), prefixed.group(2)
    if field not in FIELDS:
        raise QuerySyntaxError(
            f"unknown field '{prefixed.group(1)}' at column {start + 1} (use {_FIELD_LIST})", start, query
        )
    if rest:
        return _Token("TERM", start, rest, field=field), end
    # `ti:` with nothing attached: the term is a phrase or a group right after the colon.
    next_char = query[end] if end < len(query) else ""
    if next_char == '"':
        text, after = _read_phrase(query, end)
        return _Token("TERM", start, text, field=field, quoted=True), after
    if next_char == "(":
        return _Token("GROUP", end, field=field), end + 1  # positioned at its "(" for error messages
    raise QuerySyntaxError(f"missing search term after '{chunk}' at column {start + 1}", start, query)


def _check_parentheses(query: str, tokens: list[_Token]) -> None:
    # Checked before parsing so an unbalanced query says so, not something about what follows.
    open_positions: list[int] = []
    for token in tokens:
        if token.kind in ("(", "GROUP"):
            open_positions.append(token.position)
        elif token.kind == ")":
            if not open_positions:
                raise QuerySyntaxError(
                    f"unbalanced parenthesis: ')' at column {token.position + 1} has no matching '('",
                    token.position,
                    query,
                )
            open_positions.pop()
    if open_positions:
        position = open_positions[-1]
        raise QuerySyntaxError(
            f"unbalanced parenthesis: '(' at column {position + 1} is never closed", position, query
        )


# --- parser -----------------------------------------------------------------------------


class _Parser:
    """Recursive descent: or_expr := and_expr (OR and_expr)*; and_expr := operand ((AND|ANDNOT)? operand)*."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenize(query)
        self.index = 0

    def parse(self) -> QueryNode:
        if self.tokens[0].kind == "END":
            raise QuerySyntaxError("empty query", 0, self.query)
        node = self._or_expr("all", 0)
        leftover = self._peek()
        if leftover.kind != "END":  # unreachable after the parenthesis check; kept as a guard
            raise self._error(f"unexpected '{leftover.kind}' at column {leftover.position + 1}", leftover)
        return node

    def _peek(self) -> _Token:
        return self.tokens[self.index]

    def _next(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _error(self, message: str, token: _Token) -> QuerySyntaxError:
        return QuerySyntaxError(message, token.position, self.query)

    def _or_expr(self, field: str, depth: int) -> QueryNode:
        options = [self._and_expr(field, depth, after=None)]
        while self._peek().kind == "OR":
            options.append(self._and_expr(field, depth, after=self._next()))
        return _make_or(options)

    def _and_expr(self, field: str, depth: int, after: _Token | None) -> QueryNode:
        required = [self._operand(field, depth, after)]
        excluded: list[QueryNode] = []
        while True:
            kind = self._peek().kind
            if kind in ("AND", "ANDNOT"):
                operator = self._next()
                (excluded if kind == "ANDNOT" else required).append(self._operand(field, depth, operator))
            elif kind in ("TERM", "(", "GROUP"):  # juxtaposition is AND
                required.append(self._operand(field, depth, None))
            else:
                return _make_and(required, excluded)

    def _operand(self, field: str, depth: int, after: _Token | None) -> QueryNode:
        token = self._next()
        if token.kind == "TERM":
            return _make_term(token.field or field, token.text, token.quoted, token.position, self.query)
        if token.kind in ("(", "GROUP"):
            if depth >= MAX_DEPTH:
                raise self._error(
                    f"parentheses nested deeper than {MAX_DEPTH} levels at column {token.position + 1}", token
                )
            if self._peek().kind == ")":
                raise self._error(f"empty parentheses at column {token.position + 1}", token)
            node = self._or_expr(token.field or field, depth + 1)
            self._next()  # the ")" the parenthesis check guarantees
            return node
        if token.kind in OPERATORS:
            if after is None:
                raise self._error(
                    f"operator '{token.kind}' at column {token.position + 1} has no search term on its left", token
                )
            raise self._error(
                f"operator '{token.kind}' at column {token.position + 1} follows '{after.kind}'"
                " with no search term between",
                token,
            )
        # ")" or the end where a term belongs: only an operator can have left us here.
        culprit = after or token
        raise self._error(
            f"dangling operator '{culprit.kind}' at column {culprit.position + 1}: no search term after it", culprit
        )


def _make_term(field: str, text: str, quoted: bool, position: int, query: str) -> Term:
    """Validate one term the way arXiv would read it; `position` is where it starts in `query`."""
    column = position + 1

    def fail(message: str) -> QuerySyntaxError:
        return QuerySyntaxError(message, position, query)

    wildcard = False
    if quoted:
        if not text.strip():
            raise fail(f"empty phrase at column {column}")
    elif not text:
        raise fail(f"missing search term at column {column}")
    else:
        if text[0] in "-+" and len(text) > 1:
            instead = "ANDNOT" if text[0] == "-" else "AND"
            raise fail(f"'{text}' at column {column}: arXiv has no '{text[0]}' operator, use {instead}")
        if "?" in text or "*" in text[:-1] or text == "*":
            raise fail(
                f"unsupported wildcard in '{text}' at column {column}: only a trailing '*' works, as in reinforc*"
            )
        if text.endswith("*"):
            wildcard, text = True, text[:-1]
    if field == "cat":
        pattern = _CATEGORY_PREFIX_RE if wildcard else _CATEGORY_RE
        if not pattern.fullmatch(text):
            raise fail(f"'{text}' at column {column} is not an arXiv category (like cs.CV, cs or cs.*)")
    elif field == "id":
        valid = _ID_PREFIX_RE.fullmatch(_strip_arxiv_scheme(text)) if wildcard else parse_arxiv_id(text)
        if not valid:
            raise fail(f"'{text}' at column {column} is not an arXiv id (like 2506.03517 or hep-th/9901001)")
    elif not words(text):
        what = "phrase" if quoted else "search term"
        raise fail(f"{what} '{text}' at column {column} has no letters or digits")
    return Term(field, text, quoted, wildcard)


def _strip_arxiv_scheme(text: str) -> str:
    return text[6:] if text[:6].lower() == "arxiv:" else text


def parse_query(text: str) -> QueryNode:
    """Parse an arXiv API search query; raise `QuerySyntaxError` saying what is wrong and where."""
    return _Parser(text).parse()


# --- a paper as the index sees it -------------------------------------------------------


class PaperTokens:
    """A paper's folded words and stems per field, computed on first use and then kept.

    Build one per paper and pass it to every topic: tokenizing is the expensive
    part, and most queries only need one or two fields. Attributes are named
    `<kind>_<field>` (`stems_abs`, `stext_all`, ...) and materialize through
    `__getattr__`, so after the first access each is a plain attribute read.
    """

    def __init__(self, paper: Paper) -> None:
        self.paper = paper

    def __getattr__(self, name: str):  # called only while the attribute does not exist yet
        kind, _, field = name.partition("_")
        build = _TOKEN_BUILDERS.get(kind)
        if build is None or field not in _SEGMENT_FIELDS:
            raise AttributeError(name)
        value = build(self, field)
        self.__dict__[name] = value
        return value


def _segments(paper: Paper, field: str) -> tuple[str, ...]:
    # A phrase never spans two segments: not two authors, not two categories.
    if field == "ti":
        return (paper.title,)
    if field == "abs":
        return (paper.abstract,)
    if field == "au":
        return paper.authors
    if field == "cat":
        return paper.categories
    if field in ("co", "jr"):
        value = paper.comment if field == "co" else paper.journal_ref
        return (value,) if value else ()
    raise AttributeError(f"no text field {field!r}")


def _build_folded(tokens: PaperTokens, field: str) -> str:
    if field == "all":
        return "\n".join(getattr(tokens, "folded_" + part) for part in _TEXT_FIELDS)
    # Fold segment by segment, as `words` does, so every word is a substring of this text.
    return "\n".join(fold(segment) for segment in _segments(tokens.paper, field))


def _build_words(tokens: PaperTokens, field: str) -> list[list[str]]:
    if field == "all":
        return [segment for part in _TEXT_FIELDS for segment in getattr(tokens, "words_" + part)]
    return [words(segment) for segment in _segments(tokens.paper, field)]


def _build_stems(tokens: PaperTokens, field: str) -> set[str]:
    if field == "all":
        return set().union(*(getattr(tokens, "stems_" + part) for part in _TEXT_FIELDS))
    segments = getattr(tokens, "words_" + field)
    return stem_set(segments[0] if len(segments) == 1 else chain.from_iterable(segments))


def _build_stem_text(tokens: PaperTokens, field: str) -> str:
    # " reward model | next segment " : a phrase test is a substring test, bounded by spaces.
    if field == "all":
        return "|".join(getattr(tokens, "stext_" + part) for part in _TEXT_FIELDS)
    return " " + " | ".join(" ".join(stems(ws)) for ws in getattr(tokens, "words_" + field)) + " "


def _build_word_text(tokens: PaperTokens, field: str) -> str:
    if field == "all":
        return "|".join(getattr(tokens, "wtext_" + part) for part in _TEXT_FIELDS)
    return " " + " | ".join(" ".join(ws) for ws in getattr(tokens, "words_" + field)) + " "


def _build_names(tokens: PaperTokens, field: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(ws) for ws in getattr(tokens, "words_" + field))


def _build_categories(tokens: PaperTokens, field: str) -> frozenset[str]:
    return frozenset(c.lower() for c in tokens.paper.categories)


def _build_archives(tokens: PaperTokens, field: str) -> frozenset[str]:
    return frozenset(c.split(".")[0] for c in tokens.categories_cat)


def _build_id(tokens: PaperTokens, field: str) -> str:
    return tokens.paper.arxiv_id.lower()


_SEGMENT_FIELDS = frozenset(_TEXT_FIELDS + ("all", "id"))
_TOKEN_BUILDERS = {
    "folded": _build_folded,
    "words": _build_words,
    "stems": _build_stems,
    "stext": _build_stem_text,
    "wtext": _build_word_text,
    "names": _build_names,
    "categories": _build_categories,
    "archives": _build_archives,
    "arxivid": _build_id,
}

# The caller that tests one Paper against several topics pays for tokenizing once.
_last_tokens: tuple[Paper, PaperTokens] | None = None


def paper_tokens(paper: Paper | PaperTokens) -> PaperTokens:
    """`paper` as PaperTokens, reusing the last one built when the same Paper comes again."""
    global _last_tokens
    if isinstance(paper, PaperTokens):
        return paper
    last = _last_tokens
    if last is not None and last[0] is paper:
        return last[1]
    tokens = PaperTokens(paper)
    _last_tokens = (paper, tokens)
    return tokens


# --- compiling a query into closures ----------------------------------------------------

Matcher = Callable[[PaperTokens], bool]


def _never(tokens: PaperTokens) -> bool:
    return False


def _compile(node: QueryNode) -> Matcher:
    if isinstance(node, Term):
        return _compile_term(node)
    if isinstance(node, Or):
        return _any_of(tuple(_compile(n) for n in node.options))
    if isinstance(node, And):
        # Plain terms first: they are the cheapest tests and usually decide the answer.
        required = sorted(node.required, key=lambda n: not isinstance(n, Term))
        return _all_of(tuple(_compile(n) for n in required), tuple(_compile(n) for n in node.excluded))
    raise TypeError(f"not a query node: {node!r}")


def _any_of(options: tuple[Matcher, ...]) -> Matcher:
    def match(tokens: PaperTokens) -> bool:
        for option in options:
            if option(tokens):
                return True
        return False

    return match


def _all_of(required: tuple[Matcher, ...], excluded: tuple[Matcher, ...]) -> Matcher:
    def match(tokens: PaperTokens) -> bool:
        for test in required:
            if not test(tokens):
                return False
        for test in excluded:
            if test(tokens):
                return False
        return True

    return match


def _compile_term(term: Term) -> Matcher:
    if term.field == "rn":
        return _never
    if term.field == "cat":
        return _category_matcher(term.text.lower(), term.wildcard)
    if term.field == "id":
        return _id_matcher(term.text, term.wildcard)
    term_words = words(term.text)
    if term.field == "au":
        return _author_matcher(term_words, term.wildcard)
    folded = attrgetter("folded_" + term.field)
    if term.wildcard:
        # Prefixes match unstemmed words: `learning*` should find "learning", whose stem is "learn".
        longest = max(term_words, key=len)
        prefix = " " + " ".join(term_words)
        word_text = attrgetter("wtext_" + term.field)
        return lambda tokens: longest in folded(tokens) and prefix in word_text(tokens)
    term_stems = stems(term_words)
    # Porter only rewrites a word's last letter or strips its ending, so a word stemming to S
    # starts with S[:-1]: absent from the folded text, the word is absent (tested in the suite).
    probe = max(term_stems, key=len)[:-1]
    stem_set = attrgetter("stems_" + term.field)
    if len(term_stems) == 1:
        single = term_stems[0]
        return lambda tokens: probe in folded(tokens) and single in stem_set(tokens)
    needed = frozenset(term_stems)
    phrase = " " + " ".join(term_stems) + " "
    stem_text = attrgetter("stext_" + term.field)
    return lambda tokens: probe in folded(tokens) and needed <= stem_set(tokens) and phrase in stem_text(tokens)


def _category_matcher(category: str, wildcard: bool) -> Matcher:
    if wildcard:
        return lambda tokens: any(c.startswith(category) for c in tokens.categories_cat)
    if "." in category:
        return lambda tokens: category in tokens.categories_cat
    return lambda tokens: category in tokens.archives_cat


def _id_matcher(text: str, wildcard: bool) -> Matcher:
    if wildcard:
        prefix = _strip_arxiv_scheme(text).lower()
        return lambda tokens: tokens.arxivid_id.startswith(prefix)
    parsed = parse_arxiv_id(text)
    target = parsed.arxiv_id.lower() if parsed else ""
    return lambda tokens: tokens.arxivid_id == target


def _author_matcher(name_words: list[str], wildcard: bool) -> Matcher:
    prefix = name_words.pop() if wildcard else None
    whole = frozenset(w for w in name_words if len(w) > 1)
    initials = tuple(w for w in name_words if len(w) == 1)

    def has_start(name: frozenset[str], start: str) -> bool:
        return any(word.startswith(start) for word in name)

    probes = tuple(whole) + ((prefix,) if prefix else ())

    def match(tokens: PaperTokens) -> bool:
        folded = tokens.folded_au
        if not all(probe in folded for probe in probes):  # cheap rejection before splitting names
            return False
        for name in tokens.names_au:
            if (
                whole <= name
                and all(has_start(name, i) for i in initials)
                and (prefix is None or has_start(name, prefix))
            ):
                return True
        return False

    return match


# --- topics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicMatcher:
    """A topic compiled for local evaluation: its query AND its category filter.

    A topic with neither (a paper-list topic) matches nothing: without a rule,
    a bulk import must not claim papers for it.
    """

    name: str
    query: QueryNode | None
    category_filter: QueryNode | None

    def matches(self, paper: Paper | PaperTokens) -> bool:
        if self.query is None and self.category_filter is None:
            return False
        tokens = paper_tokens(paper)
        if self.category_filter is not None and not self.category_filter.matches(tokens):
            return False
        return self.query is None or self.query.matches(tokens)


def compile_topic(topic: Topic) -> TopicMatcher:
    """Check and compile a topic; config loading calls this to reject bad queries and categories."""
    query = parse_query(topic.query) if topic.query is not None else None
    filters: list[QueryNode] = []
    for category in topic.categories:
        try:
            filters.append(_make_term("cat", category.strip(), False, 0, category))
        except QuerySyntaxError:
            raise QuerySyntaxError(
                f"category '{category}' of topic '{topic.name}' is not an arXiv category (like cs.CV, cs or cs.*)",
                0,
                category,
            ) from None
    return TopicMatcher(topic.name, query, _make_or(filters) if filters else None)


def _compiled(topic: Topic) -> TopicMatcher:
    # Keyed on the parts, not the Topic: config may hand over categories as a list.
    return _compile_parts(topic.name, topic.query, tuple(topic.categories))


@lru_cache(maxsize=1024)
def _compile_parts(name: str, query: str | None, categories: tuple[str, ...]) -> TopicMatcher:
    return compile_topic(Topic(name, query=query, categories=categories))


def topic_matches(topic: Topic, paper: Paper | PaperTokens) -> bool:
    """Would arXiv put `paper` in `topic`? Its query matches and, if the topic lists categories, one of them."""
    return _compiled(topic).matches(paper)


def matching_topics(topics: Iterable[Topic], paper: Paper | PaperTokens) -> tuple[str, ...]:
    """The names of the topics `paper` belongs to, tokenizing the paper only once."""
    tokens = paper_tokens(paper)
    return tuple(topic.name for topic in topics if _compiled(topic).matches(tokens))

