"""`paperbot status` and the config checks of `paperbot run`, through `bot.cli.main` in this process.

`status` reads the store as `run` left it: it never syncs the config's
subscriptions (it lists the differences), and exits 1 when something needs an
operator: a failing subscription, one this environment cannot deliver (a
missing token or webhook variable), or a failing arXiv fetch. `run` reports
undeliverable subscriptions at start, and refuses a config whose subscription
names an unknown topic before it creates a store.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.models import Subscription
from store.sqlite import SqliteStore
from tests.support import CommandLine

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
HOOK = {"DIGEST_HOOK": "https://hooks.slack.com/services/T0/B0/s3cretHookValue"}


def run_once(paperbot: CommandLine, db, env: dict[str, str]):
    """`paperbot run` with the console as the only way in, ending at once: it syncs and stops."""
    result = paperbot("run", db=db, env=env, input_text="")
    assert result.returncode == 0, result.stderr
    return result


def test_status_lists_subscriptions_and_failures(paperbot, tmp_path):
    db, config = tmp_path / "bot.db", tmp_path / "bot.toml"
    config.write_text(CONFIG)
    env = {"PAPERBOT_CONFIG": str(config), **HOOK}
    run_once(paperbot, db, env)
    result = paperbot("status", db=db, env=env)
    assert result.returncode == 0, result.stderr
    assert "Subscriptions: 1" in result.stdout
    assert "#1 reward-vlm -> webhook:-:#papers (webhook $DIGEST_HOOK)  [mon 09:00 Europe/Berlin, from config]" in result.stdout
    assert "last:     none yet" in result.stdout
    assert "reward-vlm: last success never" in result.stdout
    # The next run on the subscription's own clock, with its zone.
    [next_run] = [line for line in result.stdout.splitlines() if "next run:" in line]
    assert next_run.strip().startswith("next run: 20") and next_run.endswith(" 09:00 Europe/Berlin")

    async def fail_the_subscription() -> None:
        store = await SqliteStore.open(db)
        await store.subscriptions.set_subscription_failure(
            1, "webhook DIGEST_HOOK answered 404: the webhook was deleted or revoked", "2025-06-02T09:00:05Z"
        )
        await store.close()

    asyncio.run(fail_the_subscription())
    result = paperbot("status", db=db, env=env)
    assert result.returncode == 1  # monitoring can alert on it
    assert "Subscriptions: 1, 1 FAILING" in result.stdout
    assert "FAILING since 2025-06-02 09:00:05 UTC: webhook DIGEST_HOOK answered 404" in result.stdout

    data = json.loads(paperbot("status", "--json", db=db, env=env).stdout)
    [sub] = data["subscriptions"]
    assert (
        sub["topic"] == "reward-vlm" and sub["timezone"] == "Europe/Berlin" and sub["failing"].startswith("webhook DIGEST_HOOK")
    )
    assert sub["next_run"].endswith("Z") and sub["last_delivery"] is None and data["needs_attention"] is True


def test_status_with_no_subscriptions_says_how_to_add_one(paperbot, tmp_path):
    result = paperbot("status", db=tmp_path / "bot.db")
    assert result.returncode == 0, result.stderr
    assert "Subscriptions: 0" in result.stdout and "/paper subscribe" in result.stdout


def test_status_with_another_config_lists_the_differences_and_changes_nothing(paperbot, tmp_path):
    db, config, other = tmp_path / "bot.db", tmp_path / "bot.toml", tmp_path / "other.toml"
    config.write_text(CONFIG)
    other.write_text(CONFIG.replace('channel = "#papers"', 'channel = "#elsewhere"'))
    run_once(paperbot, db, {"PAPERBOT_CONFIG": str(config), **HOOK})

    async def skip_a_week() -> None:
        store = await SqliteStore.open(db)
        await store.subscriptions.record_skipped(1, "2025-W23", "2025-06-02T07:00:00Z", "history")
        await store.close()

    asyncio.run(skip_a_week())

    result = paperbot("status", db=db, env={"PAPERBOT_CONFIG": str(other), **HOOK})
    assert result.returncode == 0, result.stderr
    assert f"In {other} but not in the store yet (added by the next `paperbot run`):" in result.stdout
    assert "reward-vlm -> webhook:-:#elsewhere" in result.stdout
    assert f"From config entries {other} no longer has (retired by the next `paperbot run`, history kept):" in result.stdout

    async def stored() -> tuple[Subscription, list[str]]:
        store = await SqliteStore.open(db)
        [kept] = await store.subscriptions.subscriptions()
        periods = [d.period for d in await store.subscriptions.deliveries(kept.id)]
        await store.close()
        return kept, periods

    kept, periods = asyncio.run(stored())
    assert kept.channel.channel == "#papers" and periods == ["2025-W23"]


@pytest.mark.slow
def test_status_exits_1_when_a_topics_fetch_is_failing(paperbot, tmp_path):
    db, config = tmp_path / "bot.db", tmp_path / "bot.toml"
    config.write_text(CONFIG.replace("enabled = false", "enabled = true\nretries = 0\ntimeout_seconds = 2"))
    env = {"PAPERBOT_CONFIG": str(config), "ARXIV_API_URL": "http://127.0.0.1:9/api/query", **HOOK}
    fetch = paperbot("fetch", db=db, env=env)
    assert fetch.returncode == 1, fetch.stderr  # nothing listens on port 9
    result = paperbot("status", db=db, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "reward-vlm: last success never; FAILING, last error" in result.stdout
    data = json.loads(paperbot("status", "--json", db=db, env=env).stdout)
    assert data["fetches"][0]["failing"] is True and data["needs_attention"] is True


def test_undeliverable_subscriptions_are_reported_by_run_at_start_and_by_status(paperbot, tmp_path):
    db, config = tmp_path / "bot.db", tmp_path / "bot.toml"
    config.write_text(CONFIG + """
[[subscriptions]]
adapter = "slack"
channel = "C0PAPERS"
topic = "reward-vlm"
""")
    secret = "not-a-url-but-a-s3cret"
    env = {"PAPERBOT_CONFIG": str(config), "DIGEST_HOOK": secret, "SLACK_BOT_TOKEN": ""}
    started = run_once(paperbot, db, env)
    warnings = [line for line in started.stderr.splitlines() if "cannot be delivered" in line]
    assert len(warnings) == 2, started.stderr
    assert "WARNING" in warnings[0] and "environment variable DIGEST_HOOK does not hold an http(s) URL" in warnings[0]
    assert "SLACK_BOT_TOKEN is not set, so the slack adapter does not run; set SLACK_BOT_TOKEN" in warnings[1]

    result = paperbot("status", db=db, env=env)
    assert result.returncode == 1
    assert "Subscriptions: 2, 2 NOT DELIVERABLE" in result.stdout
    assert "NOT DELIVERABLE: SLACK_BOT_TOKEN is not set" in result.stdout
    assert secret not in started.stderr + started.stdout + result.stdout + result.stderr


def test_an_unknown_topic_in_a_config_subscription_names_the_entry_and_creates_no_store(paperbot, tmp_path):
    db, config = tmp_path / "data" / "bot.db", tmp_path / "bot.toml"
    config.write_text(CONFIG + CONFIG[CONFIG.index("[[subscriptions]]"):].replace('topic = "reward-vlm"', 'topic = "reward-vml"'))
    result = paperbot("run", db=db, env={"PAPERBOT_CONFIG": str(config), **HOOK}, input_text="")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {config}: [[subscriptions]] #2: unknown topic 'reward-vml'; known topics: reward-vlm "
        "(a [[topics]] entry, or a topic a paper list was imported under)"
    ]
    assert not db.exists() and not db.parent.exists()


def test_a_subscription_to_an_imported_topic_is_fine(paperbot, tmp_path):
    db, config = tmp_path / "bot.db", tmp_path / "bot.toml"
    config.write_text(
        CONFIG.replace('topic = "reward-vlm"', 'topic = "reward-model-vlm"').replace(
            "example_data = false", "example_data = true"
        )
    )
    run_once(paperbot, db, {"PAPERBOT_CONFIG": str(config), **HOOK})


def test_timezones_and_crons_that_cannot_work_are_config_errors_not_tracebacks(paperbot, tmp_path):
    config = tmp_path / "bot.toml"
    cases = {
        'timezone = "Europe/Berlin"': ('timezone = "America"', "timezone: Unknown timezone 'America'"),
        'when = "mon 09:00"': ('when = "0 0 30 2 *"', "when: Bad schedule '0 0 30 2 *': it never fires"),
    }
    for original, (replacement, expected) in cases.items():
        config.write_text(CONFIG.replace(original, replacement))
        result = paperbot("status", db=tmp_path / "bot.db", env={"PAPERBOT_CONFIG": str(config)})
        assert result.returncode == 2 and expected in result.stderr and "Traceback" not in result.stderr, result.stderr
    config.write_text(CONFIG.replace('timezone = "Europe/Berlin"', f'timezone = "{"Europe/" * 50}"'))
    result = paperbot("status", db=tmp_path / "bot.db", env={"PAPERBOT_CONFIG": str(config)})
    assert result.returncode == 2 and "not an IANA zone name" in result.stderr and len(result.stderr) < 400, result.stderr
