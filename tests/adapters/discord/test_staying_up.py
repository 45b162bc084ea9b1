"""The Discord adapter staying up: odd or broken gateway events, a client that stops, Discord unreachable.

The real discord.py client runs against the fake gateway (tests/support/fake_discord.py);
payloads in the shapes Discord really sends come from tests/fixtures/discord
(a GUILD_CREATE shaped like a 2023 capture, an interaction shaped like a 2025
one, which has no `attachment_size_limit`). Waits between client restarts go
through an injected sleep that records them.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time

import pytest

from bot.app import Runtime, run_bot
from tests.support import FIXTURES
from tests.support.discord_harness import discord_bot, discord_env, offline_config
from tests.support.fake_discord import FakeDiscord

OTHER_GUILD = 1170000000000000009  # the guild of the GUILD_CREATE fixture


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / "discord" / name).read_text(encoding="utf-8"))


def interaction_2025(fake_discord: FakeDiscord, subcommand: str, options: dict | None = None) -> dict:
    payload = fixture("interaction-2025-shape.json")
    payload.update(
        id=str(fake_discord.snowflake()),
        token=f"itoken-2025-{fake_discord.snowflake()}",
        data=fake_discord._command_data(subcommand, options or {}),
    )
    return payload


def restarts(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "starting a new client" in r.getMessage()]


async def test_an_interaction_without_attachment_size_limit_is_answered(tmp_path, fake_discord):
    payload = interaction_2025(fake_discord, "topics")
    assert "attachment_size_limit" not in payload
    async with discord_bot(tmp_path / "db", fake_discord) as bot:
        record = await fake_discord.send_raw_interaction(payload)
        await fake_discord.until(lambda: record.answered())
        assert "reward-model-vlm" in record.texts()
        later = await fake_discord.slash("help")
        await fake_discord.until(lambda: later.answered())
        assert bot.adapters["discord"].restarts == []


async def test_a_bad_event_is_skipped_in_one_line_and_the_client_keeps_answering(tmp_path, fake_discord, caplog):
    guild = fixture("guild-create-2023-shape.json")["d"]
    async with discord_bot(tmp_path / "db", fake_discord) as bot:
        client = bot.adapters["discord"].client
        await fake_discord.dispatch("GUILD_CREATE", guild)  # a real shape: parsed
        await fake_discord.dispatch("GUILD_CREATE", {key: value for key, value in guild.items() if key != "id"})  # not parseable
        record = await fake_discord.slash("topics")
        await fake_discord.until(lambda: record.answered())
        assert client.get_guild(OTHER_GUILD).name == "Reading Group #2"
        assert bot.adapters["discord"].client is client and not client.is_closed()
        assert bot.adapters["discord"].restarts == []
    skipped = [r for r in caplog.records if "skipped a GUILD_CREATE event" in r.getMessage()]
    assert len(skipped) == 1 and skipped[0].exc_info is None
    assert skipped[0].getMessage() == "discord: skipped a GUILD_CREATE event discord.py could not read (KeyError: 'id')"
    assert len(fake_discord.identifies) == 1


async def test_a_client_that_stops_is_started_again_with_backoff(tmp_path, fake_discord, sleeps, caplog):
    async with discord_bot(tmp_path / "db", fake_discord, sleep=sleeps) as bot:
        adapter = bot.adapters["discord"]
        for round_ in (2, 3):
            stopped = adapter.client
            # A READY without a session id fails inside discord.py's gateway, outside any event parser: the client ends.
            await fake_discord.dispatch("READY", {"v": 10})
            await fake_discord.until(
                lambda round_=round_: len(fake_discord.identifies) == round_ and len(fake_discord.sessions) == 1
            )
            record = await fake_discord.slash("help")
            await fake_discord.until(record.answered)
            assert "paperbot commands" in record.texts()
            assert stopped.is_closed() and adapter.client is not stopped
    # Each client reached READY before it stopped, so each restart waits the first delay again.
    assert sleeps.waits == [5.0, 5.0]
    assert restarts(caplog) == ["discord: the client stopped (KeyError: 'session_id'); starting a new client in 5 s"] * 2


async def test_discord_unreachable_is_a_network_problem_retried_with_growing_waits(tmp_path, caplog):
    gone = await FakeDiscord().start()
    port, env = gone.port, discord_env(gone)
    await gone.close()
    back: list[FakeDiscord] = []

    async def sleep(seconds: float) -> None:
        sleep.waits.append(seconds)  # type: ignore[attr-defined]
        if len(sleep.waits) == 3:  # type: ignore[attr-defined]
            back.append(await FakeDiscord().start(port))  # Discord is back during the third wait

    sleep.waits = []  # type: ignore[attr-defined]
    try:
        async with discord_bot(tmp_path / "db", gone, env=env, sleep=sleep):  # start() returns: not fatal
            deadline = time.monotonic() + 60
            while not (back and back[0].sessions):
                assert time.monotonic() < deadline, caplog.text[-2000:]
                await asyncio.sleep(0.02)
            record = await back[0].slash("topics")
            await back[0].until(lambda: record.answered())
            assert "reward-model-vlm" in record.texts()
    finally:
        for server in back:
            await server.close()
    assert sleep.waits == [5.0, 10.0, 20.0]  # type: ignore[attr-defined]
    lines = restarts(caplog)
    assert len(lines) == 3 and all(
        f"cannot reach http://127.0.0.1:{port}/api/v10" in line and "a network problem" in line for line in lines
    )
    assert "token" not in caplog.text.lower() and "Traceback" not in caplog.text
    assert back[0].problems == []


async def test_a_token_revoked_while_running_ends_paperbot_with_a_non_zero_status(tmp_path, fake_discord, caplog):
    caplog.set_level(logging.INFO)
    runtime = Runtime(db_path=str(tmp_path / "db"), config=offline_config(), env=discord_env(fake_discord))
    running = asyncio.create_task(run_bot(runtime, stdin=io.StringIO()))
    deadline = time.monotonic() + 60
    while "paperbot running with discord" not in caplog.text:
        assert time.monotonic() < deadline and not running.done(), caplog.text[-2000:]
        await asyncio.sleep(0.02)
    await fake_discord.sessions[0].close(code=4004)  # what Discord does when the token is reset: Authentication failed
    assert await asyncio.wait_for(running, 60) == 1  # a supervisor (systemd, Docker) restarts the process
    assert "the discord adapter stopped for good: discord: the gateway closed the connection (code 4004)" in caplog.text
    assert restarts(caplog) == []


@pytest.mark.parametrize(
    "subcommand, options, expected",
    [
        ("latest", {"count": "five"}, "The count option must be a whole number from 1 to 25."),
        ("latest", {"count": 2.5}, "The count option must be a whole number from 1 to 25."),
        ("latest", {"count": True}, "The count option must be a whole number from 1 to 25."),
        ("search", {"query": 4242}, "The query option must be text."),
        ("latest", {"topic": ["reward"]}, "The topic option must be text."),
    ],
)
async def test_a_wrongly_typed_option_gets_its_usage_not_an_error(tmp_path, fake_discord, subcommand, options, expected):
    async with discord_bot(tmp_path / "db", fake_discord):
        record = await fake_discord.slash(subcommand, options)
        await fake_discord.until(lambda: record.answered())
    text = record.texts()
    assert expected in text and f"Usage: /paper {subcommand}" in text
    assert "went wrong" not in text and "five" not in text and "4242" not in text and "[" not in text.split("Usage")[0]


async def test_discord_py_reconnecting_to_a_gone_gateway_logs_one_line_per_attempt(tmp_path, fake_discord, caplog):
    async with discord_bot(tmp_path / "db", fake_discord):
        await fake_discord.close()  # Discord goes away: discord.py retries the gateway itself, with its own backoff
        deadline = time.monotonic() + 60
        while not (attempts := [r for r in caplog.records if r.getMessage().startswith("Attempting a reconnect")]):
            assert time.monotonic() < deadline, caplog.text[-2000:]
            await asyncio.sleep(0.05)
    assert all(r.exc_info is None and r.levelno == logging.WARNING and "[" in r.getMessage() for r in attempts)
    assert "Traceback" not in caplog.text
