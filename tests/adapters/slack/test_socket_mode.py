"""Socket Mode and start-up checks: the bot connects out over a websocket and answers `/paper` there.

slack_sdk's aiohttp Socket Mode client, driven by bolt's AsyncSocketModeHandler,
connects to the fake's websocket (URL from `apps.connections.open`); the fake
delivers a slash command envelope and expects the ack, then the answer on the
response_url. A token Slack rejects at start stops the bot with a ConfigError.
"""

from __future__ import annotations

import pytest

from bot.config import ConfigError
from tests.support.fake_slack import FakeSlack
from tests.support.slack_harness import APP_TOKEN, BOT_TOKEN, running_slack_bot


def socket_env(fake_slack_socket: FakeSlack) -> dict[str, str]:
    return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, "SLACK_API_URL": fake_slack_socket.api_url}


async def test_socket_mode_acks_a_slash_command_and_answers_through_the_response_url(tmp_path, fake_slack_socket):
    async with running_slack_bot(tmp_path, fake_slack_socket, env=socket_env(fake_slack_socket)) as slack:
        assert slack.adapter.http_port is None  # no HTTP server in Socket Mode
        await fake_slack_socket.wait_for(lambda: fake_slack_socket.sockets)
        payload = {
            "token": "unused", "team_id": "T0PAPERS", "channel_id": "C0PAPERS", "user_id": "U0MEMBER",
            "command": "/paper", "text": "search driving", "api_app_id": "A0PAPERBOT",
            "response_url": fake_slack_socket.response_url("socket"), "trigger_id": "1.2.3",
        }
        envelope = await fake_slack_socket.send_envelope("slash_commands", payload)
        await fake_slack_socket.wait_for(lambda: envelope in fake_slack_socket.socket_acks)
        (answer,) = await fake_slack_socket.wait_for_responses("socket")
        assert "DriveRX" in answer["text"] and answer["response_type"] == "ephemeral"
        assert len(fake_slack_socket.calls_to("apps.connections.open")) == 1  # the URL checked at start is the one used


async def test_a_rejected_app_token_stops_the_start_with_a_config_error(tmp_path, fake_slack_socket):
    fake_slack_socket.fail("apps.connections.open", "invalid_auth")
    with pytest.raises(ConfigError) as raised:
        async with running_slack_bot(tmp_path, fake_slack_socket, env=socket_env(fake_slack_socket)):
            pass
    assert "SLACK_APP_TOKEN" in str(raised.value) and "invalid_auth" in str(raised.value)
    assert APP_TOKEN not in str(raised.value)


async def test_a_rejected_bot_token_stops_the_start_with_a_config_error(tmp_path, fake_slack_socket):
    env = {**socket_env(fake_slack_socket), "SLACK_BOT_TOKEN": "xoxb-revoked-token-0000"}
    with pytest.raises(ConfigError) as raised:
        async with running_slack_bot(tmp_path, fake_slack_socket, env=env):
            pass
    assert "SLACK_BOT_TOKEN: Slack rejected it (invalid_auth)" in str(raised.value)
    assert "xoxb-revoked" not in str(raised.value)


@pytest.mark.slow
async def test_slack_unreachable_at_start_is_not_fatal(tmp_path, fake_slack_socket, caplog):
    env = {**socket_env(fake_slack_socket), "SLACK_API_URL": "http://127.0.0.1:9/api/"}  # nothing listens on port 9
    async with running_slack_bot(tmp_path, fake_slack_socket, env=env) as slack:
        assert "cannot reach the Slack Web API at start" in caplog.text
        assert slack.adapter.name == "slack"


async def test_a_busy_http_port_is_a_config_error(tmp_path, fake_slack_socket):
    from tests.support.slack_harness import slack_env

    async with running_slack_bot(tmp_path, fake_slack_socket) as first:
        env = slack_env(fake_slack_socket, PAPERBOT_HTTP_PORT=str(first.adapter.http_port))
        with pytest.raises(ConfigError) as raised:
            async with running_slack_bot(tmp_path, fake_slack_socket, env=env, db_name="second.db"):
                pass
    assert "PAPERBOT_HTTP_PORT: cannot listen on 127.0.0.1" in str(raised.value)
