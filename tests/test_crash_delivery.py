"""Crash injection: the service is SIGKILLed right after the claim, the send or the record.

Each case runs the real service three times in subprocesses (tests/crash_runner.py,
which is `paperbot run` with a fixed clock): once before the fire to seed the
store and sync the config's subscription, once past Monday's fire that dies
at the chosen step, and once more after the restart. The webhook fake counts
what reached the "channel".

Outcomes by crash point, for a webhook (which cannot be read back, so the
restart resends an unconfirmed digest once; see bot/digest.py):
- after the claim: nothing was sent; the restart sends it: one post;
- after the send: the post went out but was not recorded; the restart
  resends once: two identical posts, never zero (the documented trade-off);
- after the record: done; the restart sends nothing: one post.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.fake_webhooks import FakeWebhooks
from tests.support import ROOT

UTC = timezone.utc
MONDAY = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
HOOK_ENV = "PAPERBOT_TEST_DIGEST_HOOK"
CONFIG = f"""
example_data = true
[fetch]
enabled = false
[[subscriptions]]
adapter = "webhook"
channel = "#papers"
topic = "reward-model-vlm"
when = "mon 09:00"
max_papers = 20
webhook_env = "{HOOK_ENV}"
"""


async def run_service(db: Path, config: Path, now: datetime, hook_url: str, crash_at: str | None = None) -> tuple[int, str]:
    args = ["--db", str(db), "--config", str(config), "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")]
    if crash_at:
        args += ["--crash-at", crash_at]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.crash_runner", *args, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", HOOK_ENV: hook_url, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode, stderr.decode()


async def paperbot_status(db: Path, config: Path) -> dict:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--db", str(db), "--config", str(config), "status", "--json", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    return json.loads(stdout)


def posted_papers(hooks: FakeWebhooks) -> list[list[str]]:
    """The arXiv ids of each digest, in order; a digest longer than one message continues in the next."""
    posts: list[set[str]] = []
    for body in hooks.bodies("discord"):
        ids = {part.split('"')[0].split(")")[0] for part in json.dumps(body).split("arxiv.org/abs/")[1:]}
        if posts and body.get("content", "").startswith("(continued"):
            posts[-1] |= ids
        else:
            posts.append(ids)
    return [sorted(ids) for ids in posts]


@pytest.mark.parametrize("crash_at,expected_posts", [("claimed", 1), ("sent", 2), ("recorded", 1)])
async def test_a_kill_at_each_step_of_a_delivery_loses_nothing(tmp_path, crash_at, expected_posts):
    hooks = await FakeWebhooks().start()
    try:
        db, config = tmp_path / "paperbot.db", tmp_path / "paperbot.toml"
        config.write_text(CONFIG)
        # Saturday: the store is seeded with the example list and the subscription is synced; nothing is due.
        code, log = await run_service(db, config, MONDAY - timedelta(days=2), hooks.discord_url)
        assert code == 0, log
        assert hooks.received == []

        code, log = await run_service(db, config, MONDAY + timedelta(hours=1), hooks.discord_url, crash_at)
        assert code == -9, log  # SIGKILL
        assert f"SIGKILL at {crash_at}" in log
        assert len(posted_papers(hooks)) == (0 if crash_at == "claimed" else 1)

        code, log = await run_service(db, config, MONDAY + timedelta(hours=2), hooks.discord_url)
        assert code == 0, log
        posts = posted_papers(hooks)
        assert len(posts) == expected_posts
        assert all(post == posts[0] for post in posts)  # a resend is the same digest, not a new selection
        assert len(posts[0]) == 12  # every paper of the example list, once per post
        assert hooks.violations == []

        status = await paperbot_status(db, config)
        [subscription] = status["subscriptions"]
        assert subscription["last_delivery"]["period"] == "2025-W23"
        assert subscription["last_delivery"]["state"] == "sent" and subscription["failing"] is None
        assert status["pending"] == []

        # A week later nothing is reposted: the papers are recorded as posted to this channel.
        code, log = await run_service(db, config, MONDAY + timedelta(days=7, hours=1), hooks.discord_url)
        assert code == 0, log
        assert len(posted_papers(hooks)) == expected_posts
    finally:
        await hooks.stop()
