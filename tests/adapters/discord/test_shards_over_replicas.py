"""Discord shards spread over replicas: each process runs the shard ids it is given, of a fixed count.

A big bot runs several `paperbot run` replicas on one PostgreSQL store; each
connects only its own shards (`[discord] shard_ids`, or per replica
DISCORD_SHARD_IDS and DISCORD_SHARD_COUNT, which override the shared config).
"""

from __future__ import annotations

import pytest

from adapters.discord.client import DiscordAdapter, shards_from_env
from bot.commands import CommandRouter
from bot.config import ConfigError, parse_config
from bot.service import PaperService
from tests.support.discord_harness import config_with, discord_bot, discord_env

ROUTER = CommandRouter(PaperService(None))  # type: ignore[arg-type]  (never called: from_env touches no store)


async def test_a_replica_connects_only_its_shards_of_the_count_and_answers_on_them(tmp_path, fake_discord):
    env = discord_env(fake_discord, DISCORD_SHARD_COUNT="4", DISCORD_SHARD_IDS="1,3")
    async with discord_bot(tmp_path / "db", fake_discord, env=env) as bot:
        import discord

        client = bot.adapters["discord"].client
        assert isinstance(client, discord.AutoShardedClient)
        await fake_discord.until(lambda: len(fake_discord.identifies) == 2)  # discord.py identifies shards 5 s apart
        assert sorted(identify["shard"] for identify in fake_discord.identifies) == [[1, 4], [3, 4]]
        record = await fake_discord.slash("help")
        await fake_discord.until(lambda: record.answered())
        assert "paperbot commands" in record.texts()


def test_the_config_names_shard_ids_of_a_count_and_the_environment_overrides_them():
    config = parse_config("[discord]\nshards = 4\nshard_ids = [0, 2]\n", "paperbot.toml")
    assert (config.discord.shards, config.discord.shard_ids) == (4, [0, 2])
    assert shards_from_env(4, [0, 2], {}) == (4, [0, 2])
    assert shards_from_env(4, [0, 2], {"DISCORD_SHARD_IDS": "1, 3"}) == (4, [1, 3])
    assert shards_from_env(None, None, {"DISCORD_SHARD_COUNT": "6", "DISCORD_SHARD_IDS": "5"}) == (6, [5])


@pytest.mark.parametrize(
    "text, message",
    [
        ("[discord]\nshard_ids = [0]\n", "shard_ids needs the total count"),
        ('[discord]\nshards = "auto"\nshard_ids = [0]\n', "shard_ids needs the total count"),
        ("[discord]\nshards = 2\nshard_ids = [0, 2]\n", r"shard_ids must be distinct shard numbers from 0 to 1 \(got \[0, 2\]\)"),
        ("[discord]\nshards = 2\nshard_ids = [1, 1]\n", "must be distinct"),
    ],
)
def test_shard_ids_outside_the_count_are_a_config_error(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "paperbot.toml")


@pytest.mark.parametrize(
    "env, key",
    [
        ({"DISCORD_SHARD_COUNT": "four"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "0"}, "DISCORD_SHARD_COUNT"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "0;1"}, "DISCORD_SHARD_IDS"),
        ({"DISCORD_SHARD_COUNT": "2", "DISCORD_SHARD_IDS": "2"}, "DISCORD_SHARD_IDS"),
        ({"DISCORD_SHARD_IDS": "0"}, "DISCORD_SHARD_IDS"),
    ],
)
def test_bad_shard_variables_are_config_errors_naming_them(env, key):
    with pytest.raises(ConfigError) as raised:
        DiscordAdapter.from_env(ROUTER, config_with(""), {"DISCORD_TOKEN": "t", **env}, None)  # type: ignore[arg-type]
    assert raised.value.key == key
