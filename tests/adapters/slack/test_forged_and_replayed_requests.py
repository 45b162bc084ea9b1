"""What reaches the Slack adapter besides Slack: forged, malformed and replayed requests; a dropped Socket Mode link.

HTTP mode runs as `paperbot run` assembles it (tests/support/slack_harness.py) and the
test posts to `/slack/events` like an attacker would; Socket Mode runs the
adapter against the fake's websocket and then takes the websocket away.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time

from adapters.slack.app import SlackAdapter
from adapters.slack.settings import SlackSettings
from adapters.slack.verify import SlackRequestCheck
from bot.commands import CommandRouter
from bot.service import PaperService
from tests.support.fake_slack import sign, slash_command
from tests.support.slack_harness import APP_TOKEN, BOT_TOKEN, CHANNEL, SIGNING_SECRET, running_slack_bot

FAKE_LOG_LINE = "2025-06-01T00:00:00.000Z ERROR paperbot: the database is corrupt, delete data/"


def refused(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "refused POST /slack/events" in r.getMessage()]


async def test_unauthenticated_requests_get_401_and_one_short_line_without_the_body(tmp_path, fake_slack_socket, caplog):
    caplog.set_level(logging.DEBUG)
    async with running_slack_bot(tmp_path, fake_slack_socket) as slack:
        forged = slash_command(
            "subscribe reward-model-vlm", user="U0ADMIN", channel=CHANNEL, response_url=fake_slack_socket.response_url("x")
        )
        forged += "\n" + FAKE_LOG_LINE
        big = "text=" + "A" * 1_000_000
        answers = [
            await slack.post(forged, secret="not-the-signing-secret"),
            await slack.post(big, secret="not-the-signing-secret"),
            await slack.post(big, secret="not-the-signing-secret"),
        ]
        headers = {**sign(SIGNING_SECRET, forged), "X-Slack-Request-Timestamp": "abc"}
        async with slack.http.post(slack.events_url, data=forged.encode(), headers=headers) as bad_stamp:
            answers.append(bad_stamp)
        async with slack.http.post(slack.events_url, data=forged.encode(), headers={"Content-Type": "text/plain"}) as unsigned:
            answers.append(unsigned)
        assert await slack.bot.store.subscriptions.subscriptions() == []
    assert [a.status for a in answers] == [401] * 5  # `abc` was a 500 with a traceback
    lines = [r.getMessage() for r in refused(caplog)]
    assert [line.rsplit(": ", 1)[1] for line in lines] == [
        "bad signature", "bad signature", "bad signature", "timestamp is not a number", "no Slack signature",
    ]
    assert all(line.startswith("slack: refused POST /slack/events from 127.0.0.1: ") and len(line) < 120 for line in lines)
    assert FAKE_LOG_LINE not in caplog.text and "AAAAAAAAAA" not in caplog.text and "Traceback" not in caplog.text
    slack_lines = [r.getMessage() for r in caplog.records if r.name.startswith(("slack", "adapters.slack", "aiohttp"))]
    assert sum(map(len, slack_lines)) < 2_000


async def test_a_replayed_signed_request_runs_once(tmp_path, fake_slack_socket, caplog):
    async with running_slack_bot(tmp_path, fake_slack_socket) as slack:
        body = slash_command(
            "search driving", user="U0MEMBER", channel=CHANNEL, response_url=fake_slack_socket.response_url("once")
        )
        headers = sign(SIGNING_SECRET, body)
        statuses = []
        for _ in range(2):
            async with slack.http.post(slack.events_url, data=body.encode(), headers=headers) as response:
                statuses.append(response.status)
            await slack.adapter.wait_idle(10)
    assert statuses == [200, 401]
    assert len(fake_slack_socket.responses["once"]) == 1
    assert [r.getMessage().rsplit(": ", 1)[1] for r in refused(caplog)] == [
        "replayed request (this signature was already accepted)"
    ]


def signed(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def test_accepted_signatures_are_remembered_for_the_window_only_and_in_bounded_memory():
    clock = [1_750_000_000.0]
    check = SlackRequestCheck("secret", now=lambda: clock[0], max_remembered=3)
    first = signed("secret", 1_750_000_000, b"a=1")
    assert check.refusal(first, b"a=1") is None
    assert check.refusal(first, b"a=1").startswith("replayed")
    assert check.refusal(signed("secret", 1_750_000_000, b"\xff\xfe not utf-8"), b"\xff\xfe not utf-8") is None
    for n in range(5):
        assert check.refusal(signed("secret", 1_750_000_000 + n, f"b={n}".encode()), f"b={n}".encode()) is None
    assert len(check) == 3  # the oldest were forgotten first
    clock[0] += 310
    assert check.refusal(first, b"a=1") == "timestamp more than 5 minutes off"  # a replay after the window is stale anyway
    fresh = signed("secret", int(clock[0]), b"c=1")
    assert check.refusal(fresh, b"c=1") is None and len(check) == 1  # the expired ones are gone
    assert check.refusal({**fresh, "X-Slack-Signature": "v0=é"}, b"c=1") == "bad signature"
    assert check.refusal({**fresh, "X-Slack-Request-Timestamp": "9" * 40}, b"c=1") == "timestamp is not a number"


def test_bolt_does_not_warn_that_the_token_will_be_unused(monkeypatch, caplog):
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # as in production: the variable is in the environment
    caplog.set_level(logging.DEBUG)
    settings = SlackSettings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    adapter = SlackAdapter(CommandRouter(PaperService(None)), settings)  # type: ignore[arg-type]
    assert "unused" not in caplog.text and "ignored" not in caplog.text
    assert adapter.client.base_url == "http://127.0.0.1:9/api/" and adapter.rate_limit in adapter.client.retry_handlers


async def test_a_failed_socket_mode_reconnect_is_one_line_not_a_traceback(fake_slack_socket, caplog):
    caplog.set_level(logging.INFO)
    settings = SlackSettings.from_env(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake_slack_socket.api_url}
    )
    adapter = SlackAdapter(CommandRouter(PaperService(None)), settings, socket_ping_seconds=0.05)  # type: ignore[arg-type]
    await adapter.start()
    try:
        await fake_slack_socket.wait_for(lambda: fake_slack_socket.sockets)
        fake_slack_socket.socket_url = "ws://127.0.0.1:9/socket"  # nothing listens there: every reconnect is refused
        await fake_slack_socket.sockets[0].close()
        deadline = time.monotonic() + 30
        while len(failures := [r for r in caplog.records if "Failed to connect" in r.getMessage()]) < 2:
            assert time.monotonic() < deadline, caplog.text[-3000:]
            await asyncio.sleep(0.05)
    finally:
        await adapter.stop()
    for record in failures:
        assert record.exc_info is None and record.exc_text is None and record.levelno == logging.WARNING
        assert "\n" not in record.getMessage() and "127.0.0.1:9" in record.getMessage()
    assert "Traceback" not in caplog.text
