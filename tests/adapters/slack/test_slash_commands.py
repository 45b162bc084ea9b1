"""`/paper` on Slack, end to end: signed requests in, answers through the response_url out.

The bot runs as `paperbot run` assembles it (HTTP mode on 127.0.0.1), with the
real slack-bolt app and slack_sdk clients talking to `tests/support/fake_slack.py`.
Every answer the fake receives is checked against Slack's Block Kit limits
and for mentions; the `fake` fixture fails the test on any violation.
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from adapters.slack.interactions import button_value
from adapters.slack.limits import block_texts
from bot.models import ChannelRef
from tests.support.fake_slack import slash_command
from tests.support.slack_harness import BOT_TOKEN, CHANNEL, SIGNING_SECRET, running_slack_bot

SLACK_CHANNEL = ChannelRef("slack", CHANNEL)
TOPIC = "reward-model-vlm"  # the topic of the bundled example list


@pytest.fixture
async def slack(tmp_path, fake_slack):
    async with running_slack_bot(tmp_path, fake_slack) as harness:
        yield harness


def texts(answers: list[dict]) -> str:
    """The fallback text and every block text of the answers."""
    return "\n".join(answer["text"] + "\n" + "\n".join(block_texts(answer.get("blocks", []))) for answer in answers)


def share_values(answers: list[dict]) -> list[str]:
    return [
        element["value"]
        for answer in answers for block in answer.get("blocks", []) if block["type"] == "actions"
        for element in block["elements"] if element["action_id"] == "paperbot_share"
    ]


# --- lookups: for the requester, with a share button ---------------------------------


async def test_search_answers_the_requester_only_with_a_share_button(slack):
    answers = await slack.command("search driving")
    assert answers and all(a["response_type"] == "ephemeral" for a in answers)
    assert "DriveRX" in texts(answers)
    assert share_values(answers) == ["search driving"]
    # Paper titles are linked in the blocks.
    section_texts = [b["text"]["text"] for a in answers for b in a["blocks"] if b["type"] == "section"]
    assert any("<https://arxiv.org/abs/2505.20665|DriveRX" in text for text in section_texts)


async def test_latest_show_and_topics(slack):
    latest = await slack.command("latest 3")
    assert latest[0]["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": "Latest papers", "emoji": True}}
    assert sum(1 for b in latest[0]["blocks"] if b["type"] == "section") == 3
    assert share_values(latest) == ["latest 3"]

    shown = await slack.command("show arXiv:2505.20665v1")
    assert "DriveRX" in shown[0]["blocks"][0]["text"]["text"]
    assert "Abstract" in texts(shown) and share_values(shown) == ["show arXiv:2505.20665v1"]

    topics = await slack.command("topics")
    assert f"{TOPIC} (reward model+vlm): 12 papers" in texts(topics)
    assert all(a["response_type"] == "ephemeral" for a in latest + shown + topics)


async def test_help_and_empty_text_are_for_the_requester_without_a_button(slack):
    for text in ("help", "", "help search"):
        answers = await slack.command(text)
        assert answers[0]["response_type"] == "ephemeral" and share_values(answers) == []
    assert "/paper search &lt;query&gt;" in texts(await slack.command("help"))  # Slack shows &lt; as <
    assert "Example: /paper search driving" in texts(await slack.command("help search"))


async def test_the_share_button_posts_the_same_answer_to_the_channel(slack):
    private = await slack.command("search driving", user="U0MEMBER")
    (value,) = share_values(private)
    shared = await slack.press_share(value)
    assert shared and all(a["response_type"] == "in_channel" for a in shared)
    assert share_values(shared) == []  # already shared
    def strip(answers):
        return [[b for b in a["blocks"] if b["type"] != "actions"] for a in answers]

    assert strip(shared) == strip(private)


async def test_a_share_button_can_only_run_lookups_and_never_as_admin(slack, fake_slack):
    refused = await slack.press_share("subscribe reward-model-vlm", user="U0ADMIN")
    assert refused[0]["response_type"] == "ephemeral" and "no longer works" in refused[0]["text"]
    assert await slack.bot.store.subscriptions.subscriptions() == []
    assert fake_slack.calls_to("users.info") == []
    assert button_value("x" * 3000) is None and button_value(None) is None
    bad_lookup = await slack.press_share("show 9999.99999")
    assert bad_lookup[0]["response_type"] == "ephemeral" and "not in the store" in bad_lookup[0]["text"]


# --- subscriptions: admins only, announced to the channel -----------------------------


async def test_subscribe_is_refused_for_members_and_nothing_changes(slack, fake_slack):
    answers = await slack.command(f"subscribe {TOPIC}", user="U0MEMBER")
    assert answers[0]["response_type"] == "ephemeral"
    assert "Only admins can change subscriptions" in texts(answers)
    assert [c.args["user"] for c in fake_slack.calls_to("users.info")] == ["U0MEMBER"]
    assert await slack.bot.store.subscriptions.subscriptions() == []
    assert "Only admins" in texts(await slack.command(f"unsubscribe {TOPIC}", user="U0MEMBER"))


async def test_admins_owners_and_listed_users_manage_subscriptions_and_the_channel_sees_it(slack, fake_slack):
    done = await slack.command(f"subscribe {TOPIC} mon 09:00 Europe/Berlin", user="U0ADMIN")
    assert done[0]["response_type"] == "in_channel"
    assert f"Subscribed: {TOPIC} digests here, mon 09:00 Europe/Berlin" in texts(done)
    (subscription,) = await slack.bot.store.subscriptions.subscriptions()
    assert subscription.channel == SLACK_CHANNEL and subscription.source == "chat"

    listed = await slack.command("subscriptions", user="U0MEMBER")
    assert f"{TOPIC}: mon 09:00 Europe/Berlin" in texts(listed) and listed[0]["response_type"] == "ephemeral"
    assert share_values(listed) == ["subscriptions"]

    owner = await slack.command(f"subscribe {TOPIC} daily 08:00", user="U0OWNER")
    assert "daily 08:00" in texts(owner)
    calls_before = len(fake_slack.calls_to("users.info"))
    listed_admin = await slack.command(f"unsubscribe {TOPIC}", user="U0LISTED")  # in [slack] admins
    assert "Unsubscribed" in texts(listed_admin) and listed_admin[0]["response_type"] == "in_channel"
    assert len(fake_slack.calls_to("users.info")) == calls_before  # the config list needs no lookup
    assert await slack.bot.store.subscriptions.subscriptions() == []
    again = await slack.command(f"unsubscribe {TOPIC}", user="U0ADMIN")
    assert "not subscribed" in texts(again) and again[0]["response_type"] == "ephemeral"


async def test_users_info_failing_means_not_admin_with_a_log_line(slack, fake_slack, caplog):
    fake_slack.fail("users.info", "missing_scope")
    answers = await slack.command(f"subscribe {TOPIC}", user="U0ADMIN")
    assert "Only admins" in texts(answers)
    assert "users.info failed (missing_scope)" in caplog.text
    assert await slack.bot.store.subscriptions.subscriptions() == []


async def test_digest_previews_for_the_requester_only(slack):
    await slack.command(f"subscribe {TOPIC}", user="U0ADMIN")
    preview = await slack.command("digest")
    assert preview[0]["response_type"] == "ephemeral"
    assert "Preview" in texts(preview) and "nothing was posted or recorded" in texts(preview)
    assert await slack.bot.store.subscriptions.deliveries(1) == []


# --- bad input: a clear answer, nothing changed -------------------------------------------


async def test_unknown_subcommand_suggests_the_right_one(slack):
    answers = await slack.command("serch driving")
    assert answers[0]["response_type"] == "ephemeral" and share_values(answers) == []
    assert "Unknown command 'serch'" in texts(answers) and "Did you mean /paper search?" in texts(answers)


async def test_over_long_query_and_over_long_text(slack):
    long_query = await slack.command("search " + "driving " * 60)
    assert "the limit is 300" in texts(long_query) and share_values(long_query) == []
    huge = await slack.command("search " + "x" * 3990)
    assert "the limit is 300" in texts(huge) and share_values(huge) == []
    unknown = await slack.command("y" * 4000)
    assert "Unknown command 'yyyy" in texts(unknown) and len(unknown[0]["text"]) < 3000


async def test_hostile_text_cannot_ping_anyone(slack):
    answers = await slack.command("search <!channel> <@U0ADMIN> @here &amp;")
    assert answers  # the fake checks every answer for mentions and fails the test on one
    assert "&lt;!channel&gt;" in texts(answers)


async def test_forged_and_stale_requests_get_401_and_do_nothing(slack, fake_slack):
    calls_before = list(fake_slack.calls)
    body = slash_command(f"subscribe {TOPIC}", user="U0ADMIN", channel=CHANNEL, response_url=fake_slack.response_url("forged"))
    forged = await slack.post(body, secret="not-the-signing-secret")
    assert forged.status == 401
    stale = await slack.post(body, timestamp=int(time.time()) - 10 * 60)
    assert stale.status == 401
    tampered_headers = await slack.post(body.replace("U0ADMIN", "U0MEMBER"), secret=SIGNING_SECRET, timestamp=int(time.time()))
    assert tampered_headers.status == 200  # control: a correctly signed request is accepted
    await slack.adapter.wait_idle(10)
    async with slack.http.post(
        slack.events_url, data=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    ) as unsigned:
        assert unsigned.status == 401
    assert [c.method for c in fake_slack.calls if c not in calls_before] == ["auth.test", "users.info"]  # only the control
    assert len(fake_slack.responses.get("forged", [])) == 1  # the control's answer, nothing for the three refused
    assert await slack.bot.store.subscriptions.subscriptions() == []


async def test_tokens_and_secret_never_reach_a_log_line(slack, caplog):
    caplog.set_level(logging.DEBUG)
    await slack.command("search driving")
    await slack.command(f"subscribe {TOPIC}", user="U0ADMIN")
    assert BOT_TOKEN not in caplog.text and SIGNING_SECRET not in caplog.text


async def test_a_config_subscription_is_the_same_channel_as_a_chat_one(tmp_path, fake_slack):
    config = f'\n[[subscriptions]]\nadapter = "slack"\nchannel = "{CHANNEL}"\ntopic = "{TOPIC}"\n'
    async with running_slack_bot(tmp_path, fake_slack, config_text=config) as slack:
        listed = await slack.command("subscriptions")
        assert f"{TOPIC}: mon 09:00 UTC" in texts(listed)
        # The same channel: chat finds the config's subscription, which only the config file changes.
        refused = await slack.command(f"subscribe {TOPIC} daily 07:00", user="U0ADMIN")
        assert "managed by the config file" in texts(refused)
        assert len(await slack.bot.store.subscriptions.subscriptions()) == 1


def test_share_payloads_in_the_fake_are_what_the_adapter_reads():
    from urllib.parse import parse_qs

    from adapters.slack.interactions import action_fields, command_fields
    from tests.support.fake_slack import block_action

    payload = json.loads(parse_qs(block_action("latest", user="U1", channel="C1", response_url="http://x/"))["payload"][0])
    assert action_fields(payload) == ("latest", "U1", "C1")
    assert action_fields({"actions": "junk", "user": None}) == (None, "", "")
    assert command_fields({"text": ["not", "text"], "user_id": 5}) == ("", "", "")
