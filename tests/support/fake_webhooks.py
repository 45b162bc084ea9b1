"""A local stand-in for Slack incoming webhooks and Discord webhooks, on 127.0.0.1.

Shapes as the platforms answer: Slack `POST /services/T/B/secret` -> 200
`ok` (text/html), errors as plain text (`no_service`, `invalid_token`);
Discord `POST /api/webhooks/<id>/<token>?wait=true` -> 200 with the message
object (its `id`), errors as JSON `{"message", "code"}`, 429 with
`retry_after` in the body and `Retry-After` in the headers.

A test scripts failures with `fail_next(...)`; every body received is kept
and checked against the platform's message limits, so a digest that Slack
or Discord would reject, or that could ping a channel, fails the test.
`hold()` keeps every answer back until the test releases it: the post is
received (and counted) but the sender is left waiting, as over a slow link.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field

from aiohttp import web

from adapters.discord.render import check_message_limits as discord_violations
from adapters.slack.limits import check_message_limits as slack_violations
from adapters.slack.limits import find_mentions
from tests.support.local_server import LoopFake


@dataclass
class Received:
    platform: str
    path: str
    body: dict
    at: float


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: object = None


class FakeWebhooks(LoopFake):
    SLACK_PATH = "/services/T0PAPER/B0DIGEST/s3cretS3cretS3cret"
    DISCORD_PATH = "/api/webhooks/1234567890/t0ken-T0KEN-t0ken"

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.attempts: list[Received] = []
        self.violations: list[str] = []
        self._failures: dict[str, list[Failure]] = {"slack": [], "discord": []}
        self._ids = itertools.count(1_100_000_000_000_000_000)
        self._release: asyncio.Event | None = None
        self.arrived = asyncio.Event()  # set when a post is received

    @property
    def slack_url(self) -> str:
        return self.url + self.SLACK_PATH

    @property
    def discord_url(self) -> str:
        return self.url + self.DISCORD_PATH

    def fail_next(self, platform: str, *failures: Failure) -> None:
        self._failures[platform].extend(failures)

    def hold(self) -> asyncio.Event:
        """Keep answers back from now on until the returned event is set."""
        self._release = asyncio.Event()
        return self._release

    async def _answer_later(self) -> None:
        self.arrived.set()
        if self._release is not None:
            await self._release.wait()

    def bodies(self, platform: str) -> list[dict]:
        return [r.body for r in self.received if r.platform == platform]

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/services/{team}/{bot}/{secret}", self._slack)
        app.router.add_post("/api/webhooks/{webhook_id}/{token}", self._discord)
        return app

    async def close(self) -> None:
        if self._release is not None:
            self._release.set()  # a held answer would keep aiohttp's shutdown waiting for 60 s
        await super().close()

    async def _read(self, request: web.Request, platform: str) -> Received:
        body = await request.json()
        item = Received(platform, request.path, body, time.monotonic())
        self.attempts.append(item)
        return item

    def _failure(self, platform: str) -> Failure | None:
        return self._failures[platform].pop(0) if self._failures[platform] else None

    async def _slack(self, request: web.Request) -> web.Response:
        if request.path != self.SLACK_PATH:
            return web.Response(status=404, text="no_service", content_type="text/html")
        item = await self._read(request, "slack")
        failure = self._failure("slack")
        if failure is not None:
            return web.Response(
                status=failure.status, text=str(failure.body or ""), headers=failure.headers, content_type="text/html"
            )
        self.violations += [f"slack: {v}" for v in slack_violations(item.body)]
        self.violations += [f"slack mention: {m}" for m in find_mentions(item.body)]
        self.received.append(item)
        await self._answer_later()
        return web.Response(text="ok", content_type="text/html")

    async def _discord(self, request: web.Request) -> web.Response:
        if request.path != self.DISCORD_PATH:
            return _discord_json({"message": "Unknown Webhook", "code": 10015}, status=404)
        item = await self._read(request, "discord")
        failure = self._failure("discord")
        if failure is not None:
            return _discord_json(failure.body or {"message": "error", "code": 0}, status=failure.status, headers=failure.headers)
        self.violations += [f"discord: {v}" for v in discord_violations(item.body)]
        self.received.append(item)
        await self._answer_later()
        if request.query.get("wait") != "true":
            return web.Response(status=204)
        message_id = str(next(self._ids))
        return _discord_json({
            "id": message_id, "type": 0, "channel_id": "9000", "webhook_id": "1234567890",
            "content": item.body.get("content", ""), "embeds": item.body.get("embeds", []),
            "nonce": item.body.get("nonce"), "timestamp": "2025-06-02T09:00:00.000000+00:00",
        })


def _discord_json(data: object, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Discord sends exactly `application/json`; discord.py and aiohttp both rely on it.
    response = web.Response(status=status, body=json.dumps(data).encode(), headers=headers or {})
    response.headers["Content-Type"] = "application/json"
    return response
