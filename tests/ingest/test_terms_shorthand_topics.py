"""The seed tool's `terms` shorthand, in `[[topics]]` and in `/paper subscribe`, and the topics it makes being fetched."""

from __future__ import annotations

import io

import pytest

from bot.app import Runtime, assemble, open_store
from bot.config import ConfigError, parse_config
from bot.errors import UserError
from bot.ingest.arxiv import topics_to_fetch
from bot.ingest.terms import read_terms, terms_query, terms_topic
from bot.models import ChannelRef, ErrorReply, NoticeReply, Topic
from tests.support import FakeClock
from tests.support.fake_arxiv import FakePaper, utc

QUERY = '(ti:"reward model" AND ti:"vlm") OR (abs:"reward model" AND abs:"vlm")'
CHANNEL = ChannelRef("console", "main")


def test_terms_mean_every_term_in_the_title_or_every_term_in_the_abstract():
    assert terms_query(["reward model", "vlm"]) == QUERY
    assert terms_topic(["reward model", "vlm"]) == Topic("reward-model-vlm", "reward model+vlm", QUERY)


@pytest.mark.parametrize(
    "text, expected",
    [
        ('terms = ["reward model", "vlm"] mon 09:00', (["reward model", "vlm"], "mon 09:00")),
        ("terms=['reward model','vlm']", (["reward model", "vlm"], "")),
        ("terms: [“reward model”, “vlm”] daily 08:30", (["reward model", "vlm"], "daily 08:30")),  # a phone's quotes
        ("terms-of-service mon 09:00", None),  # a topic's name
        ("terms mon 09:00", None),  # a topic named "terms"
    ],
)
def test_reading_the_shorthand_from_chat(text, expected):
    assert read_terms(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("terms = reward model", "write the terms as a list in brackets"),
        ('terms = ["reward model"', "not closed with ]"),
        ("terms = [1, 2]", "list of quoted words"),
        ("terms = []", "list of words or phrases"),
        ('terms = ["a \\"quoted\\" b"]', "without double quotes"),
    ],
)
def test_unusable_terms_say_how_to_write_them(text, message):
    with pytest.raises(UserError, match=message):
        read_terms(text)


def test_config_topics_take_terms_instead_of_a_query():
    config = parse_config('[[topics]]\nterms = ["reward model", "vlm"]\ncategories = ["cs.CV"]\n', "c.toml")
    assert config.topic_list() == [Topic("reward-model-vlm", "reward model+vlm", QUERY, ("cs.CV",))]
    named = parse_config('[[topics]]\nname = "rm"\ntitle = "RM"\nterms = ["reward model"]\n', "c.toml")
    assert named.topic_list() == [Topic("rm", "RM", '(ti:"reward model") OR (abs:"reward model")')]
    with pytest.raises(ConfigError, match=r"c.toml: topics\[0\] \(x\): give either terms or query, not both"):
        parse_config('[[topics]]\nname = "x"\nterms = ["a"]\nquery = "ti:a"\n', "c.toml")
    with pytest.raises(ConfigError, match="terms must be a list in brackets"):
        parse_config('[[topics]]\nterms = "reward model"\n', "c.toml")


@pytest.fixture
def arxiv(fake_arxiv):
    fake_arxiv.add(FakePaper("2506.00001", title="A reward model for every VLM", published=utc(2025, 6, 1)))
    return fake_arxiv


async def test_subscribing_to_terms_makes_the_topic_the_scheduled_fetch_fetches(tmp_path, arxiv):
    config = parse_config(f'arxiv_api_url = "{arxiv.url}"\n[fetch]\ndelay_seconds = 0\nretries = 0\n', "test config")
    runtime = Runtime(db_path=str(tmp_path / "p.db"), config=config, clock=FakeClock(utc(2025, 6, 8, 12)), env={})
    async with open_store(runtime) as store:
        bot = await assemble(runtime, store, stdin=io.StringIO(""), stdout=io.StringIO())
        try:
            # The example list already made `reward-model-vlm`, without a query: the terms give it one.
            before = {s.topic.name: s.topic for s in await store.papers.topics()}
            assert before["reward-model-vlm"].query is None

            member = await bot.router.handle_text('/paper subscribe terms = ["reward model", "vlm"] daily 08:30', channel=CHANNEL)
            assert isinstance(member, ErrorReply)
            reply = await bot.router.handle_text(
                '/paper subscribe terms = ["reward model", "vlm"] daily 08:30', channel=CHANNEL, is_admin=True
            )
            assert isinstance(reply, NoticeReply), reply
            assert reply.lines[0] == "Subscribed: reward-model-vlm digests here, daily 08:30 UTC."
            assert reply.lines[2] == f"Topic reward-model-vlm follows arXiv's {QUERY}; new papers come with each arXiv fetch."
            topic = {s.topic.name: s.topic for s in await store.papers.topics()}["reward-model-vlm"]
            assert (topic.query, topic.title) == (QUERY, "reward model+vlm")

            assert [t.name for t in topics_to_fetch(config, [topic])] == ["reward-model-vlm"]
            await bot.scheduler.fetch.run()
            assert arxiv.requests and arxiv.requests[0].search_query.startswith(f"({QUERY}) AND lastUpdatedDate:[")
            assert (await store.papers.get("2506.00001")).topics == ("reward-model-vlm",)

            bad = await bot.router.handle_text('/paper subscribe terms = ["world model"] someday', channel=CHANNEL, is_admin=True)
            assert isinstance(bad, ErrorReply) and "world-model" not in await store.papers.topic_names()

            other = await bot.router.handle_text('/paper subscribe terms = ["reward model"]', channel=CHANNEL, is_admin=True)
            assert isinstance(other, NoticeReply) and other.lines[0].startswith("Subscribed: reward-model digests here")
        finally:
            if bot.fetcher is not None:
                bot.fetcher.close()


async def test_terms_naming_a_topic_with_another_query_are_refused(tmp_path, arxiv):
    config = parse_config('[[topics]]\nname = "reward-model-vlm"\nquery = \'abs:"reward"\'\n', "test config")
    runtime = Runtime(db_path=str(tmp_path / "p.db"), config=config, env={})
    async with open_store(runtime) as store:
        bot = await assemble(runtime, store, stdin=io.StringIO(""), stdout=io.StringIO())
        reply = await bot.router.handle_text('/paper subscribe terms = ["reward model", "vlm"]', channel=CHANNEL, is_admin=True)
        if bot.fetcher is not None:
            bot.fetcher.close()
        assert await store.subscriptions.subscriptions() == []
    assert isinstance(reply, ErrorReply)
    assert reply.message == 'Topic reward-model-vlm already follows another arXiv query (abs:"reward").'
