"""docker-compose.postgres.yml: PostgreSQL and two paperbot replicas on it, secrets from the env file."""

from __future__ import annotations

import re

import yaml

from bot.config import DigestConfig
from tests.support import ROOT

COMPOSE = ROOT / "docker-compose.postgres.yml"


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_two_replicas_of_the_image_share_the_postgres_service_and_wait_for_it():
    found = services()
    replicas = {name: service for name, service in found.items() if name.startswith("paperbot")}
    assert len(replicas) == 2 and "postgres" in found
    for service in replicas.values():
        assert service["build"] == "." and service["restart"] == "unless-stopped"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["healthcheck"]["test"] == ["CMD", "sh", "-c", "paperbot status || exit 1"]
        assert int(service["stop_grace_period"].rstrip("s")) > DigestConfig().stop_grace_seconds
    assert found["postgres"]["volumes"][0].endswith(":/var/lib/postgresql/data")


def test_no_password_or_token_is_written_in_the_file_only_read_from_the_env_file():
    text = COMPOSE.read_text()
    for name, service in services().items():
        assert service["env_file"] == "paperbot.env", name
        for key in service.get("environment") or {}:
            assert not re.search("PASSWORD|TOKEN|SECRET|PAPERBOT_DB", key), (name, key)
    assert not re.search(r"postgresql://\w+:(?!a-long-random-password@)[^@\s]+@", text)  # only the comment's example


def test_each_replica_runs_its_own_discord_shards_of_one_count():
    replicas = [service for name, service in sorted(services().items()) if name.startswith("paperbot")]
    counts = {service["environment"]["DISCORD_SHARD_COUNT"] for service in replicas}
    ids = sorted(int(i) for service in replicas for i in service["environment"]["DISCORD_SHARD_IDS"].split(","))
    assert len(counts) == 1 and ids == list(range(int(counts.pop())))
