"""The Slack adapter: a slack-bolt `AsyncApp` that answers `/paper` and posts digests.

Why this exists: it is the `ChatAdapter` for Slack. It moves data between
Slack and the core and decides nothing about papers: the text of a command
is read once by `CommandRouter.read`, answered by `CommandRouter.answer`, and
the `Answer` rendered by `adapters.slack.render`; who sees it and its share
button follow the command (`adapters.slack.interactions`); digests go through
`adapters.slack.digests`.

- `/paper <text>`: `ack()` at once (Slack allows 3 seconds), then the answer
  through `respond` (the response_url). Only a command for admins asks Slack
  who the user is (`users.info`: admins, owners) or looks at
  `[slack] admins` in the config.
- Connection: Socket Mode when `SLACK_APP_TOKEN` is set (a failed reconnect
  is one log line, not a traceback), otherwise an aiohttp server on
  `PAPERBOT_HTTP_HOST:PAPERBOT_HTTP_PORT` at `/slack/events`, where
  `adapters.slack.verify` checks every request's signature and timestamp
  before bolt sees it (forged, stale, malformed or replayed: 401, one short
  log line without the body, nothing runs).
- `from_env` only reads settings; all network work (auth.test, listening,
  Socket Mode) happens in `start`. A token Slack rejects at start is a
  `ConfigError` (exit status 2), naming the variable; later rejections only
  mark subscriptions failing.
- Web API calls retry a 429 after Retry-After (bounded, see `errors`), and a
  connection reset or a 500/503 once. Tokens are only ever handed to slack_sdk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any, Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import digests, interactions
from adapters.slack.errors import AUTH_ERRORS, BoundedRateLimitRetryHandler, slack_error_code
from adapters.slack.render import SHARE_ACTION_ID, UNDO_ACTION_PREFIX, VOTE_ACTION_PREFIX
from adapters.slack.settings import EVENTS_PATH, SlackSettings
from adapters.slack.uploads import upload_file
from adapters.slack.verify import SlackRequestCheck
from bot.commands import CommandRouter
from bot.config import ConfigError, FileConfig
from bot.errors import UserError
from bot.logs import one_line_errors
from bot.models import DeliveryKey, DigestReply, FileReply, Subscription
from bot.plugins import AdapterContext

log = logging.getLogger(__name__)

SLASH_COMMAND = "/paper"
APP_TOKEN_ERRORS = AUTH_ERRORS | {"missing_scope", "not_allowed_token_type", "invalid_app_token"}
USER_INFO_TIMEOUT = 10
STOP_GRACE_SECONDS = 10  # answers already acknowledged get this long to finish at shutdown
SOCKET_MODE_LOGGER = "adapters.slack.socket_mode"
SOCKET_PING_SECONDS = 10.0  # slack_sdk pings this often, and waits this long before reconnecting after a failure
# A Socket Mode connection that fails for these is the network, not a bug: one line per attempt.
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


class SlackAdapter:
    name = "slack"

    def __init__(
        self, router: CommandRouter, settings: SlackSettings, *, admins: tuple[str, ...] = (),
        socket_ping_seconds: float = SOCKET_PING_SECONDS,
    ) -> None:  # fmt: skip
        self.router = router
        self.settings = settings
        self.admins = frozenset(admins)
        self.rate_limit = BoundedRateLimitRetryHandler()
        self.socket_ping_seconds = socket_ping_seconds
        self.app = AsyncApp(
            # The token, not a client: given a client, bolt warns that SLACK_BOT_TOKEN "will be unused".
            token=settings.bot_token,
            # Socket Mode requests come over the authenticated websocket and carry no signature.
            signing_secret=settings.signing_secret,
        )
        self.client: AsyncWebClient = self.app.client  # bolt's client, pointed and retried our way
        self.client.base_url = settings.api_url
        self.client.retry_handlers = [AsyncConnectionErrorRetryHandler(), AsyncServerErrorRetryHandler(), self.rate_limit]
        self.request_check = SlackRequestCheck(settings.signing_secret)
        self.app.command(SLASH_COMMAND)(self._listener(self._answer_command))
        self.app.action(SHARE_ACTION_ID)(self._listener(self._answer_share))
        self.app.action(re.compile(f"^({VOTE_ACTION_PREFIX}|{UNDO_ACTION_PREFIX}):"))(self._listener(self._answer_vote))
        self.app.error(self._on_error)
        self.http_port: int | None = None  # the port HTTP mode listens on, once started
        self.bot_user: str | None = None
        self.team: str | None = None  # the bot's workspace (auth.test): votes from any other are refused
        self._runner: web.AppRunner | None = None
        self._socket: Any = None
        self._connecting: asyncio.Task | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def from_env(cls, router: CommandRouter, config: FileConfig, env: Mapping[str, str]) -> "SlackAdapter":
        return cls(router, SlackSettings.from_env(env), admins=tuple(config.slack.admins))

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        await self._check_token()
        if self.settings.app_token is not None:  # settings.socket_mode
            await self._start_socket_mode(self.settings.app_token)
            return
        web_app = web.Application()
        web_app.router.add_post(EVENTS_PATH, self._handle_http)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.http_host, self.settings.http_port)
        try:
            await site.start()
        except OSError as error:
            await self._runner.cleanup()
            self._runner = None
            raise ConfigError(
                "environment", "PAPERBOT_HTTP_PORT",
                f"cannot listen on {self.settings.http_host}:{self.settings.http_port} ({error.strerror or error}); "
                "pick a free port or stop what uses it",
            ) from None
        self.http_port = self._runner.addresses[0][1]
        log.info("slack: HTTP mode, listening on %s:%d%s", self.settings.http_host, self.http_port, EVENTS_PATH)

    async def _start_socket_mode(self, app_token: str) -> None:
        """Check the app token once, then connect in the background (slack_sdk retries until it is up)."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        url = None
        try:
            url = (await self.client.apps_connections_open(app_token=app_token)).get("url")
        except SlackApiError as error:
            code = slack_error_code(error)
            if code in APP_TOKEN_ERRORS:
                raise ConfigError(
                    "environment", "SLACK_APP_TOKEN",
                    f"Slack rejected it ({code}); create an app-level token with the connections:write scope "
                    "(Basic Information > App-Level Tokens)",
                ) from None
            log.warning("slack: apps.connections.open failed (%s); Socket Mode keeps trying", code)
        except Exception as error:
            log.warning("slack: cannot reach Slack for Socket Mode (%s); it keeps trying", type(error).__name__)
        one_line_errors(SOCKET_MODE_LOGGER, NETWORK_ERRORS)
        self._socket = AsyncSocketModeHandler(
            self.app, app_token, web_client=self.client, logger=logging.getLogger(SOCKET_MODE_LOGGER),
            ping_interval=self.socket_ping_seconds,
        )
        if url:
            self._socket.client.wss_uri = url  # the URL just issued, instead of asking for another
        self._connecting = asyncio.create_task(self._socket.connect_async(), name="slack-socket-mode")
        self._connecting.add_done_callback(_say_connected)

    async def stop(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await self.wait_idle(STOP_GRACE_SECONDS)
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _check_token(self) -> None:
        """auth.test once at start: a rejected token stops the bot now, with the variable named,
        instead of failing every command and digest later. Slack being unreachable does not."""
        try:
            identity = await self.client.auth_test()
        except SlackApiError as error:
            code = slack_error_code(error)
            if code in AUTH_ERRORS:
                raise ConfigError(
                    "environment", "SLACK_BOT_TOKEN",
                    f"Slack rejected it ({code}); reinstall the app and copy the Bot User OAuth Token (xoxb-...)",
                ) from None
            log.warning("slack: auth.test failed (%s); carrying on", code)
            return
        except Exception as error:
            log.warning("slack: cannot reach the Slack Web API at start (%s); carrying on", type(error).__name__)
            return
        self.bot_user = identity.get("user_id")
        self.team = identity.get("team_id")
        log.info("slack: signed in as %s in workspace %s", identity.get("user"), identity.get("team"))

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until every acknowledged command has been answered (at shutdown, and in tests)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def _listener(self, answer: Callable[[dict, Any], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        """The bolt listener for `answer(body, respond)`: `ack()` at once (Slack allows 3 seconds), then the
        answer, counted in flight until it is done so that `wait_idle` waits for it."""

        async def listener(ack, body: dict, respond) -> None:  # bolt passes arguments by these names
            async with self._answering():
                await ack()
                await answer(body, respond)

        return listener

    @contextlib.asynccontextmanager
    async def _answering(self):
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _handle_http(self, request: web.Request) -> web.Response:
        refusal = self.request_check.refusal(request.headers, await request.read())
        if refusal is not None:
            log.warning("slack: refused %s %s from %s: %s", request.method, request.path, request.remote, refusal)
            return web.json_response({"error": "invalid request"}, status=401)
        response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    # --- /paper -----------------------------------------------------------------------

    async def _answer_command(self, body: dict, respond) -> None:
        text, user, channel_id = interactions.command_fields(body)
        try:
            request = await self.router.read(text, user=user, channel=interactions.channel_of(channel_id))
        except UserError as error:
            await self._send(respond, interactions.command_answer(self.router.failed(error)), what="/paper")
            return
        if request.admin_only:
            request = request.as_admin(await self._is_admin(user))
        answer = await self.router.answer(request)
        if isinstance(answer.reply, FileReply):  # an export: the file goes to the channel, the word to the requester
            problem = await upload_file(self.client, channel_id, answer.reply)
            note = interactions.refusal(problem) if problem else interactions.private_note(f"Shared {answer.reply.filename}.")
            await self._send(respond, [note], what="/paper export")
            return
        await self._send(respond, interactions.command_answer(answer), what=f"/paper {request.name}")

    async def _answer_share(self, body: dict, respond) -> None:
        value, user, channel_id = interactions.action_fields(body)
        text = interactions.button_value(value)
        answer = None
        if text is not None:
            answer = await self.router.answer_button(text, share=True, user=user, channel=interactions.channel_of(channel_id))
        if answer is None:
            await self._send(respond, [interactions.refusal("This button no longer works; run the command again.")], what="share")
        elif answer.failed:
            await self._send(respond, interactions.command_answer(answer), what="share")
        else:
            await self._send(respond, interactions.shared_answer(answer.reply), what="share")

    async def _answer_vote(self, body: dict, respond) -> None:
        click = interactions.vote_click(body)
        if click is None:
            await self._send(respond, [interactions.refusal("This button no longer works.")], what="vote")
            return
        if self.team is not None and click.team != self.team:
            log.warning("slack: refused a vote from workspace %s (the bot serves %s)", click.team or "?", self.team)
            await self._send(
                respond, [interactions.refusal("This button belongs to another workspace; nothing was recorded.")], what="vote"
            )
            return
        reply, offer_undo = await self.router.answer_vote(
            click.arxiv_id, click.action, undo=click.undo, user=click.user, channel=interactions.channel_of(click.channel_id)
        )
        undo = (click.action, click.arxiv_id) if offer_undo else None
        await self._send(respond, interactions.vote_answer(reply, undo), what="vote")

    async def _send(self, respond, answers: list[dict], *, what: str) -> None:
        for answer in answers:
            try:
                result = await respond(**answer)
            except Exception as error:
                log.warning("slack: answering %s failed (%s)", what, type(error).__name__)
                return
            if getattr(result, "status_code", 200) >= 300:
                log.warning("slack: answering %s failed: response_url answered %s", what, result.status_code)
                return

    async def _is_admin(self, user: str) -> bool:
        if user in self.admins:
            return True
        if not user:
            return False
        try:
            info = await asyncio.wait_for(self.client.users_info(user=user), USER_INFO_TIMEOUT)
        except SlackApiError as error:
            log.warning("slack: users.info failed (%s); treating %s as a non-admin", slack_error_code(error), user)
            return False
        except Exception as error:
            log.warning("slack: users.info failed (%s); treating %s as a non-admin", type(error).__name__, user)
            return False
        profile = info.get("user") or {}
        return any(bool(profile.get(flag)) for flag in ("is_admin", "is_owner", "is_primary_owner"))

    async def _on_error(self, error: Exception, body: dict) -> None:
        log.error("slack: handling a %s request failed", body.get("type") or body.get("command") or "Slack", exc_info=error)

    # --- digests ----------------------------------------------------------------------

    async def post_digest(self, subscription: Subscription, reply: DigestReply) -> list[str]:
        return await digests.post_digest(self.client, subscription, reply)

    async def find_digest(self, subscription: Subscription, key: DeliveryKey) -> list[str] | None:
        return await digests.find_digest(self.client, subscription, key)


def build(context: AdapterContext) -> SlackAdapter:
    """The `slack` plugin's factory (`adapters.slack.plugin`)."""
    return SlackAdapter.from_env(context.router, context.config, context.env)


def _say_connected(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and not task.exception():
        log.info("slack: connected over Socket Mode")
