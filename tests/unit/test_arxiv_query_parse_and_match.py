"""arXiv query parsing and local evaluation: what a snapshot import decides about topics."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.ingest.arxiv_query import (
    And,
    Or,
    PaperTokens,
    QuerySyntaxError,
    Term,
    compile_topic,
    matching_topics,
    paper_tokens,
    parse_query,
    topic_matches,
)
from bot.ingest.text_tokens import porter_stem, words
from bot.models import Paper, Topic

SHIPPED_QUERY = '(abs:"reward model" OR abs:"preference") AND (abs:VLM OR abs:"vision-language")'
SHIPPED_TOPIC = Topic(
    "reward-vlm",
    title="Reward models + VLMs",
    query=SHIPPED_QUERY,
    categories=("cs.CV", "cs.CL", "cs.LG", "cs.AI", "cs.RO"),
)


def paper(
    title: str = "A paper",
    abstract: str = "",
    authors: tuple[str, ...] = (),
    categories: tuple[str, ...] = ("cs.LG",),
    arxiv_id: str = "2506.03517",
    **extra,
) -> Paper:
    return Paper(arxiv_id=arxiv_id, title=title, abstract=abstract, authors=authors, categories=categories, **extra)


def hit(query: str, **fields) -> bool:
    return parse_query(query).matches(paper(**fields))


# --- operators and precedence ----------------------------------------------------------


def test_and_needs_both_terms():
    assert hit("abs:reward AND abs:vision", abstract="reward for vision")
    assert not hit("abs:reward AND abs:vision", abstract="reward for language")


def test_or_needs_either_term():
    assert hit("abs:reward OR abs:vision", abstract="only vision here")
    assert not hit("abs:reward OR abs:vision", abstract="only language here")


def test_andnot_excludes_the_right_hand_side():
    assert hit("abs:reward ANDNOT abs:survey", abstract="a reward study")
    assert not hit("abs:reward ANDNOT abs:survey", abstract="a survey of reward models")


def test_juxtaposition_is_and_and_a_bare_term_searches_all_fields():
    assert parse_query("ti:reward model") == parse_query("ti:reward AND all:model")
    assert hit("ti:reward model", title="Reward shaping", abstract="we model it")
    assert not hit("ti:reward model", title="Reward shaping", abstract="nothing else")


def test_lowercase_operators_are_search_words():
    assert parse_query("a and b") == parse_query("all:a AND all:and AND all:b")
    assert not hit("abs:reward and abs:vision", abstract="reward for vision")  # needs the word "and"


def test_and_binds_tighter_than_or():
    assert parse_query("a OR b AND c") == parse_query("a OR (b AND c)")
    only_a = {"abstract": "alpha"}
    assert hit("abs:alpha OR abs:beta AND abs:gamma", **only_a)
    assert not hit("(abs:alpha OR abs:beta) AND abs:gamma", **only_a)


def test_andnot_is_left_to_right_at_the_level_of_and():
    assert parse_query("a ANDNOT b AND c") == parse_query("a AND c ANDNOT b")
    assert parse_query("a ANDNOT b OR c") == parse_query("(a ANDNOT b) OR c")
    assert hit("abs:alpha ANDNOT abs:beta OR abs:gamma", abstract="beta gamma")
    assert not hit("abs:alpha ANDNOT (abs:beta OR abs:gamma)", abstract="alpha gamma")


def test_parentheses_group_and_equal_queries_give_equal_trees():
    assert parse_query("((a))") == parse_query("a")
    assert parse_query("a AND (b AND c)") == parse_query("(a AND b) AND c")
    assert parse_query("a OR (b OR c)") == Or((Term("all", "a"), Term("all", "b"), Term("all", "c")))
    assert parse_query("a AND b ANDNOT c") == And((Term("all", "a"), Term("all", "b")), (Term("all", "c"),))


def test_a_field_before_parentheses_applies_to_the_bare_terms_inside():
    assert parse_query("ti:(reward OR abs:vision)") == parse_query("ti:reward OR abs:vision")
    assert hit("ti:(reward model)", title="Reward model", abstract="")
    assert not hit("ti:(reward model)", title="Reward", abstract="model")


# --- fields -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fields", "expected"),
    [
        ("ti:diffusion", {"title": "Diffusion policies"}, True),
        ("ti:diffusion", {"abstract": "diffusion policies"}, False),
        ("abs:diffusion", {"abstract": "We use diffusion."}, True),
        ("abs:diffusion", {"title": "Diffusion"}, False),
        ("co:accepted", {"comment": "Accepted at CVPR 2025"}, True),
        ("co:accepted", {"comment": None}, False),
        ("jr:neurips", {"journal_ref": "NeurIPS 2024"}, True),
        ("jr:neurips", {"comment": "NeurIPS 2024"}, False),
        ("all:diffusion", {"title": "Diffusion"}, True),
        ("all:diffusion", {"abstract": "diffusion"}, True),
        ("all:hinton", {"authors": ("Geoffrey Hinton",)}, True),
        ("all:cvpr", {"comment": "CVPR"}, True),
        ("all:neurips", {"journal_ref": "NeurIPS"}, True),
        ("all:cs.CV", {"categories": ("cs.CV",)}, True),
        ("all:diffusion", {"title": "Nothing", "abstract": "else"}, False),
        ("rn:MIT-CSAIL-TR-2024-1", {"comment": "MIT-CSAIL-TR-2024-1", "journal_ref": "MIT-CSAIL-TR-2024-1"}, False),
    ],
)
def test_each_field_searches_its_part_of_the_paper(query, fields, expected):
    assert hit(query, **fields) is expected


def test_fields_lists_what_a_query_searches():
    assert parse_query("ti:a (rn:b OR c) ANDNOT au:d").fields() == {"ti", "rn", "all", "au"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("au:Hinton", True),  # surname alone
        ("au:hinton", True),
        ('au:"Geoffrey Hinton"', True),  # the middle initial does not break it
        ("au:G_Hinton", True),  # a one-letter word is an initial
        ('au:"Hinton, G"', True),  # surname-first spelling
        ("au:Hint*", True),
        ("au:del_maestro", True),  # underscores are spaces
        ('au:"del maestro"', True),
        ("au:maestro", True),
        ("au:LeCun", False),
        ("au:X_Hinton", False),
        ("au:Geoffrey_Maestro", False),  # both words must belong to the same author
    ],
)
def test_author_matching_within_one_name(query, expected):
    assert hit(query, authors=("Geoffrey E. Hinton", "Adrian Del Maestro")) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cat:cs.CV", True),
        ("cat:cs.cv", True),
        ("cat:cs.LG", False),
        ("cat:cs", True),  # the whole archive
        ("cat:cs.*", True),
        ("cat:cs.C*", True),
        ("cat:math", True),
        ("cat:math.OC", False),
        ("cat:stat", False),
        ("cat:hep-th", False),
    ],
)
def test_category_exact_archive_and_prefix(query, expected):
    assert hit(query, categories=("cs.CV", "math.AG", "math-ph")) is expected


def test_an_archive_is_not_a_prefix_of_a_longer_archive():
    assert not hit("cat:math", categories=("math-ph",))
    assert hit("cat:math-ph", categories=("math-ph",))


@pytest.mark.parametrize(
    ("query", "arxiv_id", "expected"),
    [
        ("id:2506.03517", "2506.03517", True),
        ("id:2506.03517v2", "2506.03517", True),  # versions are ignored
        ("id:arXiv:2506.03517", "2506.03517", True),
        ("id:2506.03518", "2506.03517", False),
        ("id:2506.*", "2506.03517", True),
        ("id:2507*", "2506.03517", False),
        ("id:hep-th/9901001", "hep-th/9901001", True),
    ],
)
def test_id_compares_versionless_ids(query, arxiv_id, expected):
    assert hit(query, arxiv_id=arxiv_id) is expected


# --- words, phrases, stems --------------------------------------------------------------


def test_a_phrase_needs_consecutive_words_but_words_do_not():
    apart = {"abstract": "a model of the reward"}
    assert not hit('abs:"reward model"', **apart)
    assert hit("abs:reward abs:model", **apart)
    assert hit('abs:"reward model"', abstract="a learned reward model")


def test_a_phrase_does_not_span_two_fields_or_two_authors():
    assert not hit('all:"shaping learned"', title="Reward shaping", abstract="Learned rewards")
    assert hit('all:"reward shaping"', title="Reward shaping", abstract="")
    assert not hit('au:"Hinton Yann"', authors=("Geoffrey Hinton", "Yann LeCun"))
    assert not hit('all:"hinton yann"', authors=("Geoffrey Hinton", "Yann LeCun"))


@pytest.mark.parametrize(
    ("query", "abstract"),
    [
        ("abs:preference", "learning from human preferences"),
        ("abs:preferences", "a preference dataset"),
        ("abs:preference", "the answer they preferred"),
        ("abs:model", "two models"),
        ("abs:model", "sequence modeling"),
        ("abs:model", "sequence modelling"),
        ("abs:models", "a model"),
        ('abs:"reward model"', "training reward models"),
        ('abs:"reward models"', "a reward modeling approach"),
        ("abs:generalization", "it generalizes"),
    ],
)
def test_stemming_matches_inflected_forms(query, abstract):
    assert hit(query, abstract=abstract)


def test_stemming_does_not_conflate_unrelated_words():
    assert not hit("abs:model", abstract="a modest mode")
    assert not hit("abs:reward", abstract="rewind forward")


@pytest.mark.parametrize(
    ("word", "stem"),
    # From Porter's 1980 paper and the reference vocabulary.
    [
        ("caresses", "caress"), ("ponies", "poni"), ("cats", "cat"), ("feed", "feed"), ("agreed", "agre"),
        ("plastered", "plaster"), ("motoring", "motor"), ("sing", "sing"), ("conflated", "conflat"),
        ("hopping", "hop"), ("falling", "fall"), ("filing", "file"), ("happy", "happi"), ("relational", "relat"),
        ("conditional", "condit"), ("rational", "ration"), ("digitizer", "digit"), ("vietnamization", "vietnam"),
        ("sensibiliti", "sensibl"), ("electrical", "electr"), ("hopeful", "hope"), ("goodness", "good"),
        ("adjustment", "adjust"), ("adoption", "adopt"), ("controll", "control"), ("roll", "roll"),
        ("generalization", "gener"), ("preferences", "prefer"), ("modelling", "model"),
    ],
)
def test_porter_stems_match_the_reference(word, stem):
    assert porter_stem(word) == stem


@given(st.from_regex(r"[a-z]{1,20}", fullmatch=True))
def test_a_stem_minus_its_last_letter_begins_the_word(word):
    # The evaluator's cheap pre-test relies on this: a word stemming to S contains S[:-1].
    assert word.startswith(porter_stem(word)[:-1])


@pytest.mark.parametrize(
    ("query", "abstract", "expected"),
    [
        ("abs:reinforc*", "Reinforcement learning", True),
        ("abs:reinforc*", "we reinforce it", True),
        ("abs:learning*", "learning", True),  # prefixes see words, not stems ("learn")
        ("abs:forc*", "reinforcement", False),  # a prefix starts a word
        ("abs:vision-lang*", "vision-language models", True),
        ("abs:vision-lang*", "vision models in language", False),
    ],
)
def test_trailing_wildcard_is_a_prefix_match(query, abstract, expected):
    assert hit(query, abstract=abstract) is expected


@pytest.mark.parametrize(
    ("abstract", "expected"),
    [
        ("a vision-language model", True),
        ("a vision language model", True),
        ("a Vision–Language model", True),  # en dash
        ("vision/language", True),
        ("language vision", False),
        ("vision and language", False),
    ],
)
def test_hyphenated_term_matches_hyphenated_and_spaced_forms(abstract, expected):
    assert hit("abs:vision-language", abstract=abstract) is expected
    assert hit('abs:"vision-language"', abstract=abstract) is expected


@pytest.mark.parametrize(
    "name",
    ["Bernhard Schölkopf", "Bernhard Scholkopf", 'Bernhard Sch\\"olkopf', 'B. Sch{\\"o}lkopf', 'B. Sch\\"{o}lkopf'],
)
@pytest.mark.parametrize("query", ["au:Schölkopf", "au:Scholkopf", "all:scholkopf"])
def test_diacritics_and_latex_accents_fold(name, query):
    assert hit(query, authors=(name,))


def test_latex_in_titles_is_just_more_words():
    title = r"$\alpha$-Divergence for $\mathcal{O}(n)$ RLHF"
    assert hit("ti:alpha", title=title)
    assert hit("ti:divergence ti:RLHF", title=title)
    assert words(title) == ["alpha", "divergence", "for", "mathcal", "o", "n", "rlhf"]


# --- the shipped example and topics -----------------------------------------------------

MATCHING = paper(
    title="Aligning VLMs with learned rewards",
    abstract="We train a reward model from human preferences and use it to fine-tune vision-language models.",
    categories=("cs.CV", "cs.LG"),
)
NOT_MATCHING = paper(
    title="Reward models for text",
    abstract="We train a reward model from human preferences for large language models.",
    categories=("cs.CL",),
)


def test_the_shipped_example_query():
    query = parse_query(SHIPPED_QUERY)
    assert query.matches(MATCHING)
    assert not query.matches(NOT_MATCHING)
    assert query.to_arxiv() == SHIPPED_QUERY


def test_topic_matches_applies_the_category_filter():
    assert topic_matches(SHIPPED_TOPIC, MATCHING)
    elsewhere = paper(title=MATCHING.title, abstract=MATCHING.abstract, categories=("math.OC",))
    assert not topic_matches(SHIPPED_TOPIC, elsewhere)
    unfiltered = Topic("reward-vlm", query=SHIPPED_QUERY)
    assert topic_matches(unfiltered, elsewhere)


def test_topic_category_filter_accepts_archives():
    assert topic_matches(Topic("cv", query="abs:vision-language", categories=("cs",)), MATCHING)


def test_a_topic_without_a_query_matches_only_by_categories_and_without_either_nothing():
    assert topic_matches(Topic("all-cv", categories=("cs.CV",)), MATCHING)
    assert not topic_matches(Topic("all-cv", categories=("cs.CV",)), NOT_MATCHING)
    assert not topic_matches(Topic("from-a-paper-list"), MATCHING)


def test_topic_categories_given_as_a_list_still_work():
    assert topic_matches(Topic("cv", query="ti:vlm", categories=["cs.CV"]), MATCHING)  # type: ignore[arg-type]


def test_compile_topic_rejects_a_bad_query_or_category():
    with pytest.raises(QuerySyntaxError, match="unknown field 'foo'"):
        compile_topic(Topic("t", query="foo:bar"))
    with pytest.raises(QuerySyntaxError, match="category 'cs CV' of topic 't' is not an arXiv category"):
        compile_topic(Topic("t", query="abs:x", categories=("cs CV",)))


def test_matching_topics_tokenizes_once_and_names_each_hit():
    topics = [SHIPPED_TOPIC, Topic("text", query="abs:language"), Topic("robots", query="abs:robot")]
    assert matching_topics(topics, MATCHING) == ("reward-vlm", "text")
    assert matching_topics(topics, NOT_MATCHING) == ("text",)


def test_paper_tokens_are_reused_for_the_same_paper_and_accepted_directly():
    assert paper_tokens(MATCHING) is paper_tokens(MATCHING)
    tokens = PaperTokens(MATCHING)
    assert paper_tokens(tokens) is tokens
    assert topic_matches(SHIPPED_TOPIC, tokens)
    assert "prefer" in tokens.stems_abs


# --- bad queries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty query", 0),
        ("   ", "empty query", 0),
        ("(abs:a OR abs:b", "unbalanced parenthesis: '(' at column 1 is never closed", 0),
        ("abs:a OR (abs:b AND (c)", "unbalanced parenthesis: '(' at column 10 is never closed", 9),
        ("abs:a OR abs:b)", "unbalanced parenthesis: ')' at column 15 has no matching '('", 14),
        ('abs:"reward model', "unbalanced quote: '\"' at column 5 is never closed", 4),
        ('abs:x "y', "unbalanced quote: '\"' at column 7 is never closed", 6),
        ("foo:bar", "unknown field 'foo' at column 1 (use ti, abs, au, cat, co, jr, rn, id, all)", 0),
        ("abs:x OR title:y", "unknown field 'title' at column 10 (use ti, abs, au, cat, co, jr, rn, id, all)", 9),
        ("a AND", "dangling operator 'AND' at column 3: no search term after it", 2),
        ("(a OR) b", "dangling operator 'OR' at column 4: no search term after it", 3),
        ("AND a", "operator 'AND' at column 1 has no search term on its left", 0),
        ("(ANDNOT a)", "operator 'ANDNOT' at column 2 has no search term on its left", 1),
        ("a OR AND b", "operator 'AND' at column 6 follows 'OR' with no search term between", 5),
        ('abs:""', "empty phrase at column 1", 0),
        ('a "  "', "empty phrase at column 3", 2),
        ('abs:"!?"', "phrase '!?' at column 1 has no letters or digits", 0),
        ("abs:$$", "search term '$$' at column 1 has no letters or digits", 0),
        ("()", "empty parentheses at column 1", 0),
        ("a ti:()", "empty parentheses at column 6", 5),
        ("ti: reward", "missing search term after 'ti:' at column 1", 0),
        ("a NOT b", "'NOT' at column 3 is not an arXiv operator: use ANDNOT", 2),
        ("a -b", "'-b' at column 3: arXiv has no '-' operator, use ANDNOT", 2),
        ("+a", "'+a' at column 1: arXiv has no '+' operator, use AND", 0),
        ("abs:*forc", "unsupported wildcard in '*forc' at column 1: only a trailing '*' works, as in reinforc*", 0),
        ("abs:re?nforce", "unsupported wildcard in 're?nforce' at column 1", 0),
        ("cat:cs.CV,cs.LG", "'cs.CV,cs.LG' at column 1 is not an arXiv category (like cs.CV, cs or cs.*)", 0),
        ("id:12", "'12' at column 1 is not an arXiv id (like 2506.03517 or hep-th/9901001)", 0),
        ("(" * 60 + "a" + ")" * 60, "parentheses nested deeper than 50 levels at column 51", 50),
    ],
)
def test_bad_queries_say_what_and_where(query, message, position):
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query)
    assert caught.value.message.startswith(message)
    assert caught.value.position == position
    assert caught.value.query == query


def test_query_syntax_error_is_a_user_error_with_a_pointer():
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query("abs:x OR foo:y")
    error = caught.value
    assert isinstance(error, UserError) and isinstance(error, ValueError)
    assert error.column == 10
    assert error.pointer() == "abs:x OR foo:y\n         ^"


# --- canonical form and properties ------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("reward", "all:reward"),
        ("TI:Reward  model", "ti:Reward AND all:model"),
        ("ti:(a OR b) abs:c", "(ti:a OR ti:b) AND abs:c"),
        ("a ANDNOT b AND c", "all:a AND all:c ANDNOT all:b"),
        ("a ANDNOT (b OR c)", "all:a ANDNOT (all:b OR all:c)"),
        ("a ANDNOT (b ANDNOT c)", "all:a ANDNOT (all:b ANDNOT all:c)"),
        ('abs:"reward model" OR abs:reinforc*', 'abs:"reward model" OR abs:reinforc*'),
        ("cat:cs.* id:2506.03517v2", "cat:cs.* AND id:2506.03517v2"),
    ],
)
def test_str_is_the_canonical_arxiv_spelling(query, canonical):
    assert str(parse_query(query)) == canonical
    assert parse_query(canonical) == parse_query(query)


_FIELD = st.sampled_from(["ti", "abs", "au", "co", "jr", "all"])
_WORD = st.from_regex(r"[A-Za-z][a-z0-9]{0,7}", fullmatch=True)
_TERM = st.one_of(
    st.builds("{}:{}".format, _FIELD, _WORD),
    st.builds(lambda f, ws: f'{f}:"{" ".join(ws)}"', _FIELD, st.lists(_WORD, min_size=1, max_size=3)),
    st.builds("{}:{}*".format, _FIELD, _WORD),
    st.builds("{}-{}".format, _WORD, _WORD),
    st.sampled_from(["cat:cs.CV", "cat:cs", "cat:math.*", "id:2506.03517", "rn:TR-1", "and", "Schölkopf"]),
    _WORD,
)
_QUERY = st.recursive(
    _TERM,
    lambda inner: st.one_of(
        st.builds("{} {} {}".format, inner, st.sampled_from(["AND", "OR", "ANDNOT", ""]), inner),
        st.builds("({})".format, inner),
        st.builds("{}:({})".format, _FIELD, inner),
    ),
    max_leaves=10,
)
_SAMPLE = paper(
    title="Reward models for vision-language agents",
    abstract="We model human preferences with a reward model and test it on robots.",
    authors=("Geoffrey E. Hinton", "Bernhard Schölkopf"),
    categories=("cs.CV", "cs.LG"),
    comment="TR-1",
)


@pytest.mark.slow
@settings(max_examples=300)
@given(_QUERY)
def test_valid_queries_round_trip_through_their_canonical_form(text):
    node = parse_query(text)
    again = parse_query(str(node))
    assert again == node
    assert str(again) == str(node)
    assert again.matches(_SAMPLE) == node.matches(_SAMPLE)


_SYNTAX = st.text(alphabet=st.sampled_from(list('()" :*-?_.abtiu ANDORNOTcsé\t')), max_size=40)


@settings(max_examples=500)
@given(st.one_of(st.text(max_size=60), _SYNTAX))
def test_any_text_parses_or_raises_query_syntax_error(text):
    try:
        node = parse_query(text)
    except QuerySyntaxError as error:
        assert 0 <= error.position <= len(text)
        assert error.message
    else:
        assert parse_query(str(node)) == node
        node.matches(_SAMPLE)  # and evaluating it does not blow up either


_TEXT_WORD = st.from_regex(r"[a-zA-Z]{1,10}(ing|ed|s|ies|ation|ness|ly|)", fullmatch=True)


@settings(max_examples=200)
@given(st.lists(_TEXT_WORD, min_size=2, max_size=30), st.data())
def test_any_word_or_phrase_taken_from_an_abstract_finds_it(abstract_words, data):
    # Guards the evaluator's shortcuts (probes before stemming): they may only skip non-matches.
    start = data.draw(st.integers(0, len(abstract_words) - 2))
    length = data.draw(st.integers(1, 2))
    chosen = abstract_words[start : start + length]
    target = paper(abstract=" ".join(abstract_words) + ".")
    assert parse_query(f'abs:"{" ".join(chosen)}"').matches(target)
    assert parse_query(f"abs:{chosen[0]}").matches(target)
    assert parse_query(f"abs:{chosen[0][:3]}*").matches(target)
