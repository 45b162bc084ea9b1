"""👍/👎/🔖 on Slack: buttons under digest cards and lookup answers, clicked as Slack sends a click.

The bot is assembled as `paperbot run` does it; the real slack-bolt app and
slack_sdk client talk to `tests/support/fake_slack.py`; every click is a signed
`block_actions` request posted to the bot's `/slack/events`, as Slack posts it.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from bot.models import ChannelRef
from tests.support import MONDAY, FakeClock, make_paper
from tests.support.fake_slack import block_action
from tests.support.slack_harness import SlackHarness, running_slack_bot

pytestmark = pytest.mark.now(MONDAY - timedelta(days=3))

PAPERS = "C0PAPERS"
CHANNEL = ChannelRef("slack", PAPERS)
CONFIG = (
    '\n[[topics]]\nname = "rm"\ntitle = "Reward models"\n'
    f'\n[[subscriptions]]\nadapter = "slack"\nchannel = "{PAPERS}"\ntopic = "rm"\n'
)


def bot(tmp_path, fake, clock):
    return running_slack_bot(tmp_path, fake, config_text=CONFIG, example_data=False, clock=clock, start_scheduler=False)


def vote_buttons(message: dict) -> dict[str, list[str]]:
    """arxiv id -> the action_ids of the vote buttons under its card."""
    found: dict[str, list[str]] = {}
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["action_id"].startswith("paperbot_vote:"):
                found.setdefault(element["value"], []).append(element["action_id"])
    return found


async def click(slack: SlackHarness, action_id: str, value: str, *, user: str = "U0MEMBER", team: str | None = None,
                secret: str | None = None, timestamp: int | None = None) -> tuple[int, list[dict]]:  # fmt: skip
    name = uuid.uuid4().hex
    extra = {"team": team} if team else {}
    body = block_action(
        value, user=user, channel=PAPERS, response_url=slack.fake.response_url(name), action_id=action_id, **extra
    )
    signing = {"secret": secret} if secret else {}
    response = await slack.post(body, timestamp=timestamp, **signing)
    await slack.adapter.wait_idle(10)
    return response.status, slack.fake.responses.get(name, [])


async def post_digest(slack: SlackHarness, clock: FakeClock) -> dict:
    clock.set(MONDAY - timedelta(days=1))
    ids = [f"2506.{n:05d}" for n in (1, 2, 3)]
    await slack.bot.store.papers.upsert_papers(make_paper(i, ("rm",), published="2025-06-01") for i in ids)
    clock.set(MONDAY + timedelta(minutes=1))
    await slack.bot.scheduler.start()
    [digest] = await slack.fake.wait_for(lambda: slack.fake.posted(PAPERS) or None)
    return digest


async def test_a_digest_has_buttons_under_each_card_and_a_click_records_once(tmp_path, fake_slack, clock) -> None:
    async with bot(tmp_path, fake_slack, clock) as slack:
        digest = await post_digest(slack, clock)
        buttons = vote_buttons(digest)
        assert sorted(buttons) == ["2506.00001", "2506.00002", "2506.00003"]
        assert buttons["2506.00002"] == [
            "paperbot_vote:up:2506.00002",
            "paperbot_vote:down:2506.00002",
            "paperbot_vote:save:2506.00002",
        ]
        status, first = await click(slack, "paperbot_vote:save:2506.00002", "2506.00002")
        assert status == 200 and first[0]["response_type"] == "ephemeral"
        assert "Saved to this channel's reading list" in first[0]["text"]
        undo = [e for b in first[0]["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [(e["text"]["text"], e["action_id"]) for e in undo] == [("Undo", "paperbot_unvote:save:2506.00002")]
        _, again = await click(slack, "paperbot_vote:save:2506.00002", "2506.00002")  # a double click
        assert "Already in this channel's reading list" in again[0]["text"]
        assert not any(b["type"] == "actions" for b in again[0]["blocks"])  # nothing to undo
        assert await slack.bot.store.votes.channel_votes(CHANNEL) == [("2506.00002", "U0MEMBER", "save")]

        await click(slack, "paperbot_vote:up:2506.00001", "2506.00001")
        _, switched = await click(slack, "paperbot_vote:down:2506.00001", "2506.00001")
        assert "your earlier vote is replaced" in switched[0]["text"]
        await click(slack, "paperbot_vote:up:2506.00001", "2506.00001", user="U0OTHER")
        _, undone = await click(slack, "paperbot_unvote:down:2506.00001", "2506.00001")
        assert "Vote taken back" in undone[0]["text"]
        assert sorted(await slack.bot.store.votes.channel_votes(CHANNEL)) == [
            ("2506.00001", "U0OTHER", "up"), ("2506.00002", "U0MEMBER", "save"),
        ]  # fmt: skip


async def test_a_button_still_works_after_a_restart(tmp_path, fake_slack, clock) -> None:
    async with bot(tmp_path, fake_slack, clock) as slack:
        digest = await post_digest(slack, clock)
    [action_id, *_] = vote_buttons(digest)["2506.00003"]
    async with bot(tmp_path, fake_slack, clock) as restarted:
        status, answer = await click(restarted, action_id, "2506.00003")
        assert status == 200 and "Marked relevant" in answer[0]["text"]
        assert await restarted.bot.store.votes.channel_votes(CHANNEL) == [("2506.00003", "U0MEMBER", "up")]


async def test_lookup_answers_carry_the_buttons_too(tmp_path, fake_slack, clock) -> None:
    async with bot(tmp_path, fake_slack, clock) as slack:
        await slack.bot.store.papers.upsert_papers([make_paper("2506.00009", ("rm",), published="2025-06-01")])
        answers = await slack.command("latest")
        assert list(vote_buttons(answers[0])) == ["2506.00009"]
        help_answer = await slack.command("help")
        assert vote_buttons(help_answer[0]) == {}


async def test_forged_stale_and_foreign_clicks_record_nothing(tmp_path, fake_slack, clock) -> None:
    async with bot(tmp_path, fake_slack, clock) as slack:
        await post_digest(slack, clock)
        forged, _ = await click(slack, "paperbot_vote:up:2506.00001", "2506.00001", secret="not-the-signing-secret")
        stale, _ = await click(slack, "paperbot_vote:up:2506.00001", "2506.00001", timestamp=int(time.time()) - 3600)
        assert (forged, stale) == (401, 401)
        status, foreign = await click(slack, "paperbot_vote:up:2506.00001", "2506.00001", team="T0ELSEWHERE")
        assert status == 200 and "another workspace" in foreign[0]["text"]
        _, unknown = await click(slack, "paperbot_vote:up:2599.99999", "2599.99999")
        assert "not in the store" in unknown[0]["text"]
        assert await slack.bot.store.votes.channel_votes(CHANNEL) == []
