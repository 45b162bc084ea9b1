"""`paperbot run` with Slack settings: the real process, its exit status and its log.

The fake Slack runs in the test's event loop; the bot is a subprocess
(`python -m bot run`) in HTTP mode on 127.0.0.1, found through the port it
logs. Also: settings errors stop the bot with status 2 and a message naming
the variable, never the value.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid

import aiohttp
import pytest

from adapters.slack.settings import SlackSettings
from bot.config import ConfigError
from tests.support import OFFLINE_CONFIG, ROOT
from tests.support.fake_slack import sign, slash_command
from tests.support.slack_harness import BOT_TOKEN, SIGNING_SECRET

LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)/slack/events")


def test_missing_signing_secret_in_http_mode_exits_2_naming_the_variable(paperbot, tmp_path):
    result = paperbot("run", db=tmp_path / "p.db", env={"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": ""}, timeout=60)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET: not set" in result.stderr and "SLACK_APP_TOKEN" in result.stderr
    assert BOT_TOKEN not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "env, words",
    [
        ({"SLACK_BOT_TOKEN": "xapp-1-A1-123-abcdef"}, "SLACK_BOT_TOKEN: holds an app-level token"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN: is not an app-level token"),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "PAPERBOT_HTTP_PORT": "80000"},
            "PAPERBOT_HTTP_PORT: must be between 0 and 65535",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "PAPERBOT_HTTP_PORT": "http"},
            "PAPERBOT_HTTP_PORT: not a port number",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "ftp://x"},
            "SLACK_API_URL: not an http(s) URL",
        ),
    ],
)
def test_bad_settings_are_config_errors(env, words):
    with pytest.raises(ConfigError) as raised:
        SlackSettings.from_env(env)
    assert words in str(raised.value)
    assert "xapp-1-A1-123-abcdef" not in str(raised.value) and "xoxb-wrong-kind" not in str(raised.value)


def test_settings_defaults_and_the_api_url_slash():
    http = SlackSettings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api"})
    assert (http.api_url, http.http_host, http.http_port, http.socket_mode) == ("http://127.0.0.1:9/api/", "0.0.0.0", 3000, False)
    socket = SlackSettings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-1-A1-1-abc"})
    assert socket.socket_mode and socket.api_url == "https://slack.com/api/"


@pytest.mark.slow
@pytest.mark.subprocess
async def test_paperbot_run_answers_a_signed_slash_command_and_stops_cleanly_on_sigterm(tmp_path, fake_slack):
    env = {
        **os.environ, "PAPERBOT_DB": str(tmp_path / "p.db"), "PAPERBOT_CONFIG": str(OFFLINE_CONFIG),
        "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.api_url,
        "PAPERBOT_HTTP_HOST": "127.0.0.1", "PAPERBOT_HTTP_PORT": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "-v", "run", cwd=ROOT, env=env,  # -v: secrets must stay out even at DEBUG
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    log_lines: list[str] = []
    try:
        port = None
        while port is None:
            line = (await asyncio.wait_for(process.stderr.readline(), 60)).decode()
            assert line, "paperbot run exited before listening:\n" + "".join(log_lines)
            log_lines.append(line)
            found = LISTENING.search(line)
            port = int(found.group(1)) if found else None
        name = uuid.uuid4().hex
        body = slash_command("search driving", user="U0MEMBER", channel="C0PAPERS", response_url=fake_slack.response_url(name))
        async with aiohttp.ClientSession() as http:
            async with http.post(
                f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=sign(SIGNING_SECRET, body)
            ) as response:
                assert response.status == 200
            async with http.post(
                f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=sign("forged", body)
            ) as response:
                assert response.status == 401
        answers = await fake_slack.wait_for_responses(name)
        assert "DriveRX" in answers[0]["text"] and answers[0]["response_type"] == "ephemeral"
        process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stderr.read(), 60)
        assert await asyncio.wait_for(process.wait(), 60) == 0
        log = "".join(log_lines) + rest.decode()
        assert "slack: signed in as paperbot" in log and "stopped cleanly" in log
        assert BOT_TOKEN not in log and SIGNING_SECRET not in log
        assert name not in log and "/commands/T0PAPERS/1750000000000/***" in log  # slack_sdk logs the response_url at DEBUG
        assert "slack: refused POST /slack/events from 127.0.0.1: bad signature" in log
        assert "will be unused" not in log
        assert len(fake_slack.responses[name]) == 1  # the forged request did nothing
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_the_manifest_declares_what_the_adapter_uses():
    from adapters.slack.app import SLASH_COMMAND

    lines = [line.split("#", 1)[0].rstrip() for line in (ROOT / "config" / "slack-manifest.yaml").read_text().splitlines()]
    scopes = {line.strip()[2:] for line in lines[lines.index("    bot:") + 1 :] if line.startswith("      - ")}
    assert scopes == {"commands", "chat:write", "files:write", "users:read", "channels:history", "groups:history"}
    assert f"    - command: {SLASH_COMMAND}" in lines
    assert "    is_enabled: true" in lines and "  socket_mode_enabled: true" in lines
