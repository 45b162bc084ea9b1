"""`paperbot status`: subscriptions, next run, last delivery, failures; read-only, text or JSON."""

from __future__ import annotations

import json

from store.sqlite import SqliteStore
from tests.support import run_paperbot

CONFIG = """
example_data = false
timezone = "Europe/Berlin"
[fetch]
enabled = false
[[topics]]
name = "reward-vlm"
title = "Reward models + VLMs"
query = 'abs:"reward model" AND abs:VLM'
[[subscriptions]]
adapter = "webhook"
channel = "#papers"
topic = "reward-vlm"
when = "mon 09:00"
webhook_env = "DIGEST_HOOK"
"""


async def test_status_lists_subscriptions_and_failures(tmp_path):
    db, config = tmp_path / "bot.db", tmp_path / "bot.toml"
    config.write_text(CONFIG)
    env = {"PAPERBOT_CONFIG": str(config)}
    # `status` reads the store without changing it: the bot syncs the config into it.
    assert run_paperbot("run", db=db, env=env, input_text="").returncode == 0
    result = run_paperbot("status", db=db, env=env)
    assert result.returncode == 0, result.stderr
    assert "Subscriptions: 1" in result.stdout
    assert "#1 reward-vlm -> webhook:-:#papers (webhook $DIGEST_HOOK)  [mon 09:00 Europe/Berlin, from config]" in result.stdout
    assert "next run: 20" in result.stdout and "last:     none yet" in result.stdout
    assert "reward-vlm: last success never" in result.stdout

    store = await SqliteStore.open(db)
    await store.set_subscription_failure(1, "webhook DIGEST_HOOK answered 404: the webhook was deleted or revoked", "2025-06-02T09:00:05Z")
    await store.close()
    result = run_paperbot("status", db=db, env=env)
    assert result.returncode == 1  # monitoring can alert on it
    assert "Subscriptions: 1, 1 FAILING" in result.stdout
    assert "FAILING since 2025-06-02 09:00:05 UTC: webhook DIGEST_HOOK answered 404" in result.stdout

    data = json.loads(run_paperbot("status", "--json", db=db, env=env).stdout)
    [sub] = data["subscriptions"]
    assert sub["topic"] == "reward-vlm" and sub["timezone"] == "Europe/Berlin" and sub["failing"].startswith("webhook DIGEST_HOOK")
    assert sub["next_run"].endswith("Z") and sub["last_delivery"] is None


def test_status_with_no_subscriptions_says_how_to_add_one(tmp_path):
    result = run_paperbot("status", db=tmp_path / "bot.db")
    assert result.returncode == 0, result.stderr
    assert "Subscriptions: 0" in result.stdout and "/paper subscribe" in result.stdout
