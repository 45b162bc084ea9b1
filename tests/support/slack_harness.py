"""The bot started the way `paperbot run` starts it, with Slack pointed at the fake, for tests to drive.

`running_slack_bot` does what `bot.app.run_bot` does (open the store,
`assemble`, run it inside `Bot.running()`: adapters, then the scheduler;
stopped in reverse), with a Runtime whose environment holds SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
and SLACK_API_URL, and HTTP mode on 127.0.0.1 and a free port. The test gets
the assembled `Bot` and sends signed requests to `/slack/events` the way
Slack does.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator, Callable

import aiohttp

from bot.app import Bot, Runtime, assemble, open_store
from bot.config import parse_config
from bot.models import DeliveryKey
from bot.ports import Clock, SystemClock
from tests.support.fake_slack import FakeSlack, block_action, sign, slash_command

BOT_TOKEN = "xoxb-1111-2222-fakebottokenvalue"
APP_TOKEN = "xapp-1-A0PAPERBOT-1234-abcdef0123456789"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0PAPERS"
# The workspace's people as users.info describes them (tests/conftest.py gives them to `fake_slack`);
# U0LISTED is an admin by the config's [slack] admins, not by Slack.
PEOPLE = {
    "U0ADMIN": {"is_admin": True},
    "U0OWNER": {"is_owner": True},
    "U0MEMBER": {"is_admin": False, "is_owner": False},
}

BASE_CONFIG = """
tldr_lang = "en"
example_data = {example_data}

[fetch]
enabled = false

[slack]
admins = ["U0LISTED"]
"""


def slack_env(fake: FakeSlack, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "PAPERBOT_HTTP_HOST": "127.0.0.1",
        "PAPERBOT_HTTP_PORT": "0",
        **extra,
    }


@dataclass
class SlackHarness:
    bot: Bot
    fake: FakeSlack
    http: aiohttp.ClientSession
    sent: list[str] = field(default_factory=list)

    @property
    def adapter(self):
        return self.bot.adapters["slack"]

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.http_port}/slack/events"

    async def post(self, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> aiohttp.ClientResponse:
        async with self.http.post(self.events_url, data=body.encode(), headers=sign(secret, body, timestamp)) as response:
            await response.read()
            return response

    async def command(self, text: str, *, user: str = "U0MEMBER", channel: str = CHANNEL) -> list[dict]:
        """`/paper <text>` as Slack sends it; returns what the bot posted to the command's response_url."""
        return await self._answers_to(lambda url: slash_command(text, user=user, channel=channel, response_url=url))

    async def press_share(self, value: str, *, user: str = "U0MEMBER", channel: str = CHANNEL) -> list[dict]:
        """A click on a share button, as Slack sends it; returns what the bot posted to the click's response_url."""
        return await self._answers_to(lambda url: block_action(value, user=user, channel=channel, response_url=url))

    async def _answers_to(self, request_with: Callable[[str], str]) -> list[dict]:
        """Posts `request_with(a fresh response_url)` and, once the bot is idle, returns what it posted there."""
        name = uuid.uuid4().hex
        response = await self.post(request_with(self.fake.response_url(name)))
        assert response.status == 200
        await self.adapter.wait_idle(10)
        return self.fake.responses.get(name, [])


@contextlib.asynccontextmanager
async def running_slack_bot(
    tmp_path: Path,
    fake: FakeSlack,
    *,
    config_text: str = "",
    example_data: bool = True,
    clock: Clock | None = None,
    db_name: str = "slack.db",
    start_scheduler: bool = True,
    on_step: Callable[[str, DeliveryKey], None] | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[SlackHarness]:
    config = parse_config(BASE_CONFIG.format(example_data=str(example_data).lower()) + config_text, "test config")
    runtime = Runtime(db_path=str(tmp_path / db_name), config=config, clock=clock or SystemClock(), env=env or slack_env(fake))
    async with open_store(runtime) as store:
        bot = await assemble(runtime, store, stdin=io.StringIO(""), stdout=io.StringIO(), on_step=on_step)
        async with bot.running(schedule=start_scheduler), aiohttp.ClientSession() as http:
            yield SlackHarness(bot, fake, http)
