"""Starting and stopping the Discord adapter: endpoints, command sync, shards, bad tokens, `paperbot run`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import endpoint
from adapters.discord.client import COMMAND_HASH_KEY, INVITE_PERMISSIONS, DiscordAdapter, invite_url
from bot.commands import CommandRouter
from bot.config import ConfigError, FileConfig, parse_config
from bot.errors import UserError
from bot.logs import secret_values
from bot.service import PaperService
from tests.support import OFFLINE_CONFIG, ROOT
from tests.support.discord_harness import config_with, discord_bot, discord_env
from tests.support.fake_discord import GUILD_ID, MEMBER_ID, TOKEN, FakeDiscord

ROUTER = CommandRouter(PaperService(None))  # type: ignore[arg-type]  (never called: from_env touches no store)


async def test_rest_and_gateway_go_to_discord_api_url_and_are_restored_after_stop(tmp_path, fake_discord):
    async with discord_bot(tmp_path / "db", fake_discord) as bot:
        assert Route.BASE == f"{fake_discord.url}/api/v10"
        assert str(DiscordWebSocket.DEFAULT_GATEWAY) == f"ws://127.0.0.1:{fake_discord.port}/gateway"
        assert fake_discord.calls_to("GET", r"^/gateway/bot$")
        assert fake_discord.gateway_queries[0]["v"] == "10" and fake_discord.gateway_queries[0]["encoding"] == "json"
        assert fake_discord.identifies[0]["intents"] == 1  # GUILDS only: no message content, no members
        assert fake_discord.heartbeats >= 1
        assert bot.adapters["discord"].client.user.id == int(fake_discord.bot_user["id"])
    assert Route.BASE == "https://discord.com/api/v10"
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


async def test_commands_sync_once_not_again_on_the_next_start(tmp_path, fake_discord):
    db = tmp_path / "paperbot.db"
    async with discord_bot(db, fake_discord) as bot:
        assert bot.adapters["discord"].synced is True
        stored = await bot.store.papers.get_meta(COMMAND_HASH_KEY)
    async with discord_bot(db, fake_discord) as bot:
        assert bot.adapters["discord"].synced is False
        assert await bot.store.papers.get_meta(COMMAND_HASH_KEY) == stored
    assert fake_discord.command_writes == ["global"]
    # Pointing at a development guild is a change: one guild sync, then quiet again.
    guild_env = discord_env(fake_discord, DISCORD_GUILD_ID=str(GUILD_ID))
    for _ in range(2):
        async with discord_bot(db, fake_discord, env=guild_env):
            pass
    assert fake_discord.command_writes == ["global", str(GUILD_ID)]
    assert len(fake_discord.calls_to("PUT", r"/commands$")) == 2


async def test_guild_commands_answer_interactions(tmp_path, fake_discord):
    async with discord_bot(tmp_path / "db", fake_discord, env=discord_env(fake_discord, DISCORD_GUILD_ID=str(GUILD_ID))):
        record = await fake_discord.slash("topics")
        assert record.payload["data"]["guild_id"] == str(GUILD_ID)
        await fake_discord.until(lambda: record.answered())
        assert "reward-model-vlm" in record.texts()


async def test_a_failed_sync_is_logged_the_bot_still_runs_and_the_next_start_retries(tmp_path, fake_discord, caplog):
    db = tmp_path / "paperbot.db"
    fake_discord.fail("PUT", r"/applications/\d+/commands$", 403)
    async with discord_bot(db, fake_discord) as bot:
        assert bot.adapters["discord"].synced is False
        assert await bot.store.papers.get_meta(COMMAND_HASH_KEY) is None
        assert "syncing /paper commands (global) failed: 403" in caplog.text
    async with discord_bot(db, fake_discord) as bot:
        assert bot.adapters["discord"].synced is True
    assert fake_discord.command_writes == ["global"]


async def test_shards_auto_runs_an_autosharded_client(tmp_path, fake_discord):
    config = config_with('[discord]\nshards = "auto"\n')
    async with discord_bot(tmp_path / "db", fake_discord, config=config) as bot:
        import discord

        assert isinstance(bot.adapters["discord"].client, discord.AutoShardedClient)
        assert fake_discord.identifies[0]["shard"] == [0, 1]
        record = await fake_discord.slash("help")
        await fake_discord.until(lambda: record.answered())
        assert "paperbot commands" in record.texts()


async def test_a_rejected_token_is_a_clear_error_and_never_logged(tmp_path, caplog):
    server = await FakeDiscord(token="the-real-token-is-different").start()
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(UserError) as raised:
            async with discord_bot(tmp_path / "db", server):
                pass
    finally:
        await server.close()
    assert "token was rejected (401 Unauthorized)" in raised.value.message
    # The same error Slack raises for its rejected token: a ConfigError naming the variable.
    assert isinstance(raised.value, ConfigError) and raised.value.key == "DISCORD_TOKEN"
    assert str(raised.value).startswith("environment: DISCORD_TOKEN: ")
    assert TOKEN not in caplog.text and TOKEN not in str(raised.value)
    assert Route.BASE == "https://discord.com/api/v10"


def test_bad_environment_values_are_config_errors():
    with pytest.raises(ConfigError, match="DISCORD_GUILD_ID"):
        DiscordAdapter.from_env(ROUTER, FileConfig(), {"DISCORD_TOKEN": TOKEN, "DISCORD_GUILD_ID": "my-server"}, None)
    with pytest.raises(ConfigError, match="DISCORD_API_URL"):
        DiscordAdapter.from_env(ROUTER, FileConfig(), {"DISCORD_TOKEN": TOKEN, "DISCORD_API_URL": "ftp://example"}, None)
    assert endpoint.rest_base("http://127.0.0.1:9/") == "http://127.0.0.1:9/api/v10"
    assert endpoint.rest_base("https://proxy.example/api/v10") == "https://proxy.example/api/v10"


def test_the_token_is_a_secret_to_the_log_filter_and_not_in_the_adapter_repr():
    assert TOKEN in secret_values({"DISCORD_TOKEN": TOKEN})
    adapter = DiscordAdapter.from_env(ROUTER, FileConfig(), {"DISCORD_TOKEN": TOKEN}, None)
    assert TOKEN not in repr(adapter)


def test_readme_invite_url_has_the_permissions_the_bot_needs():
    assert INVITE_PERMISSIONS.value == (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 35) | (1 << 38)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert invite_url("<APP_ID>") in readme


@pytest.mark.slow
@pytest.mark.subprocess
async def test_paperbot_run_in_a_subprocess_answers_a_command_and_stops_cleanly_on_sigterm(tmp_path, fake_discord):
    env = {
        **os.environ, **discord_env(fake_discord), "PAPERBOT_DB": str(tmp_path / "paperbot.db"),
        "PAPERBOT_CONFIG": str(OFFLINE_CONFIG),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "-v", "run", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake_discord.until(lambda: bool(fake_discord.sessions) and bool(fake_discord.command_writes), timeout=60)
        record = await fake_discord.slash("search", {"query": "driving"}, user=MEMBER_ID)
        await fake_discord.until(lambda: record.answered(), timeout=30)
        assert "DriveRX" in record.texts()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    log = stderr.decode("utf-8", "replace")
    assert process.returncode == 0, log[-2000:]
    assert "discord: connected as paperbot" in log and "stopped cleanly" in log
    assert TOKEN not in log and TOKEN not in stdout.decode("utf-8", "replace")
    # -v: discord.py logs gateway payloads and interaction URLs at DEBUG; the interaction token stays out.
    assert record.token not in log and "/interactions/" in log and "'token': '***'" in log


def test_readme_discord_config_example_is_valid():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Add to Discord", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = parse_config(example, "README")
    channels = [(s.channel.adapter, s.channel.channel, s.channel.thread) for s in config.subscription_list()]
    assert channels == [
        ("discord", "222222222222222222", None),
        ("discord", "222222222222222222", "333333333333333333"),
        ("discord", "444444444444444444", None),
    ]


async def test_a_dropped_gateway_connection_is_resumed_and_commands_keep_working(tmp_path, fake_discord):
    async with discord_bot(tmp_path / "db", fake_discord):
        await fake_discord.sessions[0].close(code=4000)
        await fake_discord.until(lambda: len(fake_discord.resumes) == 1 and bool(fake_discord.sessions))
        assert len(fake_discord.identifies) == 1  # resumed, not a new session
        record = await fake_discord.slash("help")
        await fake_discord.until(lambda: record.answered())
        assert "paperbot commands" in record.texts()


async def test_a_gateway_that_refuses_the_token_is_a_clear_error(tmp_path, fake_discord):
    fake_discord.gateway_token = "another-token-entirely"
    with pytest.raises(UserError) as raised:
        async with discord_bot(tmp_path / "db", fake_discord):
            pass
    assert "gateway closed the connection (code 4004)" in raised.value.message
