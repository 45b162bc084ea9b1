"""The key figure: `/paper show` with it on every platform, `--json`, and digest cards that ask for it."""

from __future__ import annotations

import io
from datetime import timedelta

from adapters.console import ConsoleAdapter
from adapters.discord.render import render_messages as discord_messages
from adapters.slack.render import check_message_limits
from adapters.slack.render import render_messages as slack_messages
from bot.config import parse_config
from bot.digest import DigestEngine
from bot.fulltext.document import FullText, Section
from bot.models import ChannelRef, Figure, Subscription, Topic
from bot.presenter import paper_detail, paper_list
from store.sqlite import SqliteStore
from tests.support import MONDAY, FakeClock, make_paper

FIGURE = Figure("https://arxiv.org/html/2506.00001v1/x1.png", "Overview of the StepRM pipeline: each step is scored.")


def test_show_carries_the_figure_on_slack_discord_and_in_plain_text():
    reply = paper_detail(make_paper("2506.00001", ("rm",)), "en", figure=FIGURE)
    assert f"Key figure: {FIGURE.caption}\n{FIGURE.url}" in reply.text

    messages = slack_messages(reply)
    images = [b for m in messages for b in m["blocks"] if b["type"] == "image"]
    assert images == [{
        "type": "image", "image_url": FIGURE.url, "alt_text": FIGURE.caption,
        "title": {"type": "plain_text", "text": FIGURE.caption, "emoji": False},
    }]  # fmt: skip
    assert all(check_message_limits(m) == [] for m in messages)

    embeds = [e for m in discord_messages(reply) for e in m["embeds"]]
    figure_embeds = [e for e in embeds if "image" in e]
    assert len(figure_embeds) == 1 and figure_embeds[0]["image"] == {"url": FIGURE.url}
    assert figure_embeds[0]["title"] == "Key figure" and "StepRM pipeline" in figure_embeds[0]["description"]


def test_a_paper_without_a_figure_shows_none_and_a_hostile_url_is_never_an_image():
    plain = paper_detail(make_paper("2506.00001", ("rm",)), "en")
    assert "Key figure" not in plain.text
    assert not [b for m in slack_messages(plain) for b in m["blocks"] if b["type"] == "image"]
    hostile = paper_detail(make_paper("2506.00001", ("rm",)), "en", figure=Figure("javascript:alert(1)", "x"))
    assert not [b for m in slack_messages(hostile) for b in m["blocks"] if b["type"] == "image"]
    assert not [e for m in discord_messages(hostile) for e in m["embeds"] if "image" in e]


def test_list_cards_carry_their_figure_only_when_given():
    papers = [make_paper("2506.00001", ("rm",)), make_paper("2506.00002", ("rm",))]
    with_figures = paper_list("Digest", papers, "en", empty_text="", figures={"2506.00001": FIGURE})
    blocks = slack_messages(with_figures)[0]["blocks"]
    kinds = [b["type"] for b in blocks]
    assert kinds == ["header", "section", "image", "section"]  # the image right under its card
    assert [e.get("image") for e in discord_messages(with_figures)[0]["embeds"]] == [{"url": FIGURE.url}, None]
    assert f"Figure: {FIGURE.url}" in with_figures.text


async def test_a_digest_shows_figures_only_for_subscriptions_that_set_figures(tmp_path):
    config = parse_config(
        '[[subscriptions]]\nadapter = "console"\nchannel = "with"\ntopic = "rm"\nfigures = true\n'
        '[[subscriptions]]\nadapter = "console"\nchannel = "without"\ntopic = "rm"\n', "test.toml",
    )  # fmt: skip
    clock = FakeClock(MONDAY - timedelta(days=3))
    async with await SqliteStore.open(tmp_path / "d.db", clock=clock) as store:
        await store.papers.upsert_topics([Topic("rm")])
        for subscription in config.subscription_list():
            await store.subscriptions.save_subscription(subscription)
        assert [s.figures for s in await store.subscriptions.subscriptions()] == [True, False]  # stored (schema 5)
        await store.papers.upsert_papers([make_paper("2506.00001", ("rm",), published="2025-05-30")])
        await store.fulltext.save_fulltext(FullText("2506.00001", 1, "html", (Section("1 Intro", "Text."),), FIGURE))
        console = ConsoleAdapter(router=None, stdout=io.StringIO())  # type: ignore[arg-type]
        engine = DigestEngine(
            store.subscriptions, store.papers, {"console": console}, {"rm": Topic("rm")}, clock=clock, fulltext=store.fulltext
        )
        clock.set(MONDAY + timedelta(minutes=1))
        await engine.run_due()
    posted = {where.channel: reply for where, reply in console.posted}
    assert posted["with"].cards[0].figure == FIGURE
    assert posted["without"].cards[0].figure is None


def test_subscription_figures_default_off():
    assert Subscription(id=0, channel=ChannelRef("console", "c"), topic="rm").figures is False
