"""Crash injection: the service is SIGKILLed right after the claim, the send or the record.

Each case runs the real service in subprocesses (tests/support/crash_runner.py, which
is `paperbot run` with a fixed clock): once before the fire to seed the store
and sync the config's subscription, once past Monday's fire that dies at the
chosen step, and once more after the restart. A local fake of the platform
counts what reached the channel.

Slack can be read back (each digest message carries `paperbot_digest`
metadata), so every crash point ends in exactly one digest. A webhook cannot
be read back, so the restart resends an unconfirmed digest once (bot/digest.py):
- after the claim: nothing was sent; the restart sends it: one post;
- after the send: posted but not recorded; the restart resends once: two
  identical posts, never zero (the documented trade-off);
- after the record: done; the restart sends nothing: one post.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.support import MONDAY, ROOT
from tests.support.fake_slack import FakeSlack
from tests.support.fake_webhooks import FakeWebhooks
from tests.support.slack_harness import BOT_TOKEN, SIGNING_SECRET

pytestmark = [pytest.mark.subprocess, pytest.mark.slow]

HOOK_ENV = "PAPERBOT_TEST_DIGEST_HOOK"
SLACK_CHANNEL = "C0CRASHTEST"
BASE_CONFIG = """
example_data = true
[fetch]
enabled = false
[[subscriptions]]
channel = "{channel}"
topic = "reward-model-vlm"
when = "mon 09:00"
max_papers = 20
"""


class WebhookPlatform:
    """Digests to a Discord webhook; cannot be read back."""

    name = "webhook"

    async def start(self) -> None:
        self.fake = await FakeWebhooks().start()

    async def stop(self) -> None:
        await self.fake.close()

    def config(self) -> str:
        return BASE_CONFIG.format(channel="#papers") + f'adapter = "webhook"\nwebhook_env = "{HOOK_ENV}"\n'

    def env(self) -> dict[str, str]:
        return {HOOK_ENV: self.fake.discord_url}

    def digests(self) -> list[list[str]]:
        """The arXiv ids of each digest, in order; a digest longer than one message continues in the next."""
        posts: list[set[str]] = []
        for body in self.fake.bodies("discord"):
            ids = _ids(json.dumps(body))
            if posts and body.get("content", "").startswith("(continued"):
                posts[-1] |= ids
            else:
                posts.append(ids)
        return [sorted(ids) for ids in posts]

    def violations(self) -> list[str]:
        return self.fake.violations


class SlackPlatform:
    """Digests through the Slack adapter; read back through conversations.history metadata."""

    name = "slack"

    async def start(self) -> None:
        self.fake = await FakeSlack(BOT_TOKEN).start()

    async def stop(self) -> None:
        await self.fake.close()

    def config(self) -> str:
        return BASE_CONFIG.format(channel=SLACK_CHANNEL) + 'adapter = "slack"\n'

    def env(self) -> dict[str, str]:
        return {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": self.fake.api_url,
                "PAPERBOT_HTTP_HOST": "127.0.0.1", "PAPERBOT_HTTP_PORT": "0"}

    def digests(self) -> list[list[str]]:
        posts: dict[tuple, set[str]] = {}
        for message in self.fake.posted(SLACK_CHANNEL):
            payload = (message.get("metadata") or {}).get("event_payload", {})
            # Each post is its own set of parts: part 0 starts a new digest.
            if payload.get("part", 0) == 0:
                posts[(payload.get("period"), len(posts))] = set()
            list(posts.values())[-1].update(_ids(json.dumps(message.get("blocks"))))
        return [sorted(ids) for ids in posts.values()]

    def violations(self) -> list[str]:
        return self.fake.violations


def _ids(text: str) -> set[str]:
    return {part.split('"')[0].split(")")[0].split("|")[0] for part in text.split("arxiv.org/abs/")[1:]}


async def run_service(
    db: Path | str, config: Path, now: datetime, env: dict[str, str], crash_at: str | None = None
) -> tuple[int, str]:
    """Start the service; it is SIGKILLed at `crash_at`, or stopped with SIGTERM once it is up."""
    args = ["--db", str(db), "--config", str(config), "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ")]
    if crash_at:
        args += ["--crash-at", crash_at]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.crash_runner", *args, cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"], **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    lines: list[str] = []

    async def read() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode()
            lines.append(line)
            if "paperbot running with" in line:  # start-up (reconcile, catch-up) is over
                process.send_signal(signal.SIGTERM)

    await asyncio.wait_for(asyncio.gather(read(), process.wait()), timeout=120)
    return process.returncode, "".join(lines)


async def paperbot_status(db: Path | str, config: Path, env: dict[str, str]) -> dict:
    """`paperbot status --json` in the bot's environment (without it, the webhook is undeliverable: exit 1)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--db", str(db), "--config", str(config), "status", "--json", cwd=ROOT,
        env={**os.environ, **env}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    return json.loads(stdout)


async def assert_monday_delivered(target, db: Path | str, config: Path, env: dict[str, str], digests_posted: int,
                                  log: str = "") -> None:  # fmt: skip
    """Monday's digest reached the platform `digests_posted` times, each time the same, and the store says it was sent."""
    digests = target.digests()
    assert len(digests) == digests_posted, log
    assert all(digest == digests[0] for digest in digests)  # a resend is the same digest, not a new selection
    assert len(digests[0]) == 12  # every paper of the example list
    assert target.violations() == []
    status = await paperbot_status(db, config, env)
    [subscription] = status["subscriptions"]
    assert subscription["last_delivery"]["period"] == "2025-W23"
    assert subscription["last_delivery"]["state"] == "sent" and subscription["failing"] is None
    assert status["pending"] == []


@pytest.mark.parametrize("platform,crash_at,expected_digests", [
    (WebhookPlatform, "claimed", 1), (WebhookPlatform, "sent", 2), (WebhookPlatform, "recorded", 1),
    (SlackPlatform, "claimed", 1), (SlackPlatform, "sent", 1), (SlackPlatform, "recorded", 1),
], ids=lambda value: getattr(value, "name", value))
async def test_a_kill_at_each_step_of_a_delivery_loses_nothing(tmp_path, platform, crash_at, expected_digests):
    target = platform()
    await target.start()
    try:
        db, config = tmp_path / "paperbot.db", tmp_path / "paperbot.toml"
        config.write_text(target.config())
        env = target.env()
        # Saturday: the store is seeded with the example list and the subscription is synced; nothing is due.
        code, log = await run_service(db, config, MONDAY - timedelta(days=2), env)
        assert code == 0, log
        assert target.digests() == []

        code, log = await run_service(db, config, MONDAY + timedelta(hours=1), env, crash_at)
        assert code == -signal.SIGKILL, log
        assert f"SIGKILL at {crash_at}" in log
        assert len(target.digests()) == (0 if crash_at == "claimed" else 1)

        code, log = await run_service(db, config, MONDAY + timedelta(hours=2), env)
        assert code == 0, log
        await assert_monday_delivered(target, db, config, env, expected_digests)

        # A week later nothing is reposted: the papers are recorded as posted to this channel.
        code, log = await run_service(db, config, MONDAY + timedelta(days=7, hours=1), env)
        assert code == 0, log
        assert len(target.digests()) == expected_digests
    finally:
        await target.stop()


# --- SIGTERM while a digest is being posted ---------------------------------------------------------


class Service:
    """`paperbot run` (tests/support/crash_runner.py) in a subprocess, with its log lines as they come."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.seen = asyncio.Event()
        self._wanted = ""

    async def start(self, db: Path | str, config: Path, now: datetime, env: dict[str, str], *options: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.crash_runner", "--db", str(db), "--config", str(config),
            "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ"), *options, cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"], **env},
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode())
            if self._wanted and self._wanted in self.lines[-1]:
                self.seen.set()

    async def wait_for_line(self, text: str) -> None:
        self._wanted = text
        self.seen.clear()  # set by an earlier wait's line
        if not any(text in line for line in self.lines):
            await asyncio.wait_for(self.seen.wait(), 60)

    async def exit_code(self) -> int:
        await asyncio.wait_for(asyncio.gather(self._reader, self.process.wait()), 60)
        return self.process.returncode

    @property
    def log(self) -> str:
        return "".join(self.lines)


async def seeded_webhook_bot(tmp_path: Path, grace: float) -> tuple[WebhookPlatform, Path, Path]:
    target = WebhookPlatform()
    await target.start()
    db, config = tmp_path / "paperbot.db", tmp_path / "paperbot.toml"
    config.write_text(target.config() + f"[digest]\nstop_grace_seconds = {grace}\n")
    code, log = await run_service(db, config, MONDAY - timedelta(days=2), target.env())
    assert code == 0, log
    return target, db, config


async def test_sigterm_while_a_digest_is_posted_lets_the_post_finish_and_records_it(tmp_path):
    target, db, config = await seeded_webhook_bot(tmp_path, grace=20)
    try:
        release = target.fake.hold()
        service = Service()
        await service.start(db, config, MONDAY + timedelta(hours=1), target.env())
        await asyncio.wait_for(target.fake.arrived.wait(), 60)  # the start-up catch-up is posting
        service.process.send_signal(signal.SIGTERM)
        await service.wait_for_line("stopping")
        release.set()  # the platform answers while the stop waits for it
        assert await service.exit_code() == 0, service.log
        assert "waiting up to 20 s for the digest being delivered" in service.log
        assert (await paperbot_status(db, config, target.env()))["pending"] == []

        code, log = await run_service(db, config, MONDAY + timedelta(hours=2), target.env())
        assert code == 0, log
        assert len(target.digests()) == 1 and len(target.digests()[0]) == 12
    finally:
        await target.stop()


async def test_sigterm_gives_a_post_that_never_answers_a_bounded_wait(tmp_path):
    target, db, config = await seeded_webhook_bot(tmp_path, grace=0.5)
    try:
        release = target.fake.hold()  # never answered: the webhook's own timeout is 30 s, with retries
        service = Service()
        await service.start(db, config, MONDAY + timedelta(hours=1), target.env())
        await asyncio.wait_for(target.fake.arrived.wait(), 60)
        service.process.send_signal(signal.SIGTERM)
        assert await service.exit_code() == 0, service.log
        assert "stopped while posting it" in service.log
        status = await paperbot_status(db, config, target.env())
        assert [d["period"] for d in status["pending"]] == ["2025-W23"]
        release.set()
        # Nobody knows whether the platform kept that post (the first of the digest's messages);
        # a webhook cannot be read back, so the next start resends the digest once, in full.
        code, log = await run_service(db, config, MONDAY + timedelta(hours=2), target.env())
        assert code == 0, log
        cut_short, resent = target.digests()
        assert set(cut_short) < set(resent) and len(resent) == 12
        assert (await paperbot_status(db, config, target.env()))["pending"] == []
    finally:
        await target.stop()
