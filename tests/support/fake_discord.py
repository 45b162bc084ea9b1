"""A fake Discord on 127.0.0.1: REST under /api/v10 and a gateway websocket, for the real discord.py.

It serves what paperbot's Discord adapter uses, with payloads shaped like
Discord's real ones (API v10): login (`users/@me`, `oauth2/applications/@me`),
`gateway/bot`, command bulk overwrite (global and guild), interaction
callbacks (`?with_response=1`), webhook followups and edits, channel messages
(POST with nonce/enforce_nonce de-duplication, GET history), channels,
forum posts (`channels/{forum}/threads`) and active threads; and a gateway
(HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeat ACK, RESUME -> RESUMED
(INVALID SESSION for a wrong token), and INTERACTION_CREATE pushed by the test).

A message with files comes as multipart/form-data (`payload_json` and
`files[n]` parts, as discord.py sends it): the fake reads the JSON as the
body and keeps each file's bytes (`fake.attachments`, by attachment id), and
the message it creates lists them under `attachments` as Discord does.

JSON answers carry `Content-Type: application/json` exactly (discord.py
compares the header to that string). Every request is recorded in `calls`;
every message body received is checked with `check_message_limits`, and the
problems collected in `problems` (a test fixture asserts it stays empty).
Failures are injected with `fail(method, path_pattern, status, ...)`: 429s
come with `retry_after`, `Via`, `X-RateLimit-*` and `X-RateLimit-Scope` as
Discord sends them.

The test drives users with `slash()`, `autocomplete()` and `click()`, and
waits for the bot's answers with `until(predicate)`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Callable

from aiohttp import WSMsgType, web

from adapters.discord.render import check_message_limits
from tests.support.local_server import LoopFake

DISCORD_EPOCH_MS = 1420070400000
TOKEN = "fake.discord-bot-token.abcdefghijklmnop"
APP_ID = 1160000000000000001  # a bot user's id is its application's id
GUILD_ID = 1170000000000000001
TEXT_CHANNEL = 1180000000000000001
THREAD = 1180000000000000002
FORUM = 1180000000000000003
SECRET_CHANNEL = 1180000000000000004  # the bot has no access: 403 Missing Access
ADMIN_ID = 1190000000000000001
MEMBER_ID = 1190000000000000002
OTHER_ID = 1190000000000000003

VIEW_CHANNEL, SEND_MESSAGES, EMBED_LINKS, READ_HISTORY, MANAGE_GUILD = 1 << 10, 1 << 11, 1 << 14, 1 << 16, 1 << 5
MEMBER_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_HISTORY
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | MANAGE_GUILD

EPHEMERAL, LOADING = 1 << 6, 1 << 7
PONG, CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT = 1, 4, 5, 6, 7, 8


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def user_payload(user_id: int, name: str, *, bot: bool = False) -> dict:
    return {
        "id": str(user_id), "username": name, "global_name": None if bot else name.title(), "discriminator": "0",
        "avatar": None, "bot": bot, "system": False, "public_flags": 0, "flags": 0, "banner": None, "accent_color": None,
        "avatar_decoration_data": None, "primary_guild": None,
    }


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (form field, file name, bytes) of a multipart body


@dataclass
class Failure:
    method: str
    pattern: re.Pattern
    status: int
    body: dict
    headers: dict[str, str]
    times: int


@dataclass
class InteractionRecord:
    """One interaction the test sent, and everything the bot answered to it."""

    payload: dict
    callbacks: list[dict] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)  # the response message first, then followups
    choices: list[dict] | None = None
    expired: bool = False  # Discord forgot it (answered too late): every callback is 404 Unknown interaction

    @property
    def token(self) -> str:
        return self.payload["token"]

    @property
    def original(self) -> dict | None:
        return self.messages[0] if self.messages else None

    def answered(self, count: int = 1) -> bool:
        """The deferred/loading answer was filled in and `count` messages exist."""
        done = [m for m in self.messages if not m["flags"] & LOADING]
        return len(done) >= count and len(done) == len(self.messages)

    def texts(self) -> str:
        return "\n".join(message_text(m) for m in self.messages)


def message_text(message: dict) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
        parts += [f"{f['name']}: {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(p for p in parts if p)


def buttons(message: dict) -> dict[str, dict]:
    """label -> button component of a message."""
    return {
        child.get("label"): child
        for row in message.get("components") or []
        for child in row.get("components", [])
        if child.get("type") == 2
    }


class FakeDiscord(LoopFake):
    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.gateway_token = token  # a test may make only the gateway refuse it (close code 4004)
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.failures: list[Failure] = []
        self.forbidden: set[int] = {SECRET_CHANNEL}
        self.commands: dict[str, list[dict]] = {}  # "global" or guild id -> registered commands
        self.command_writes: list[str] = []
        self.history: dict[int, list[dict]] = {}  # channel id -> messages, oldest first (nonce kept privately)
        self.interactions: dict[str, InteractionRecord] = {}
        self.sessions: list[web.WebSocketResponse] = []
        self.identifies: list[dict] = []
        self.resumes: list[dict] = []
        self.gateway_queries: list[dict] = []
        self.heartbeats = 0
        self.attachments: dict[str, bytes] = {}  # attachment id -> the file's bytes
        self._ids = itertools.count(1)
        self._seq: dict[int, int] = {}
        self._changed = asyncio.Condition()
        self.bot_user = user_payload(APP_ID, "paperbot", bot=True)
        self.channels: dict[int, dict] = {
            TEXT_CHANNEL: self._text_channel(TEXT_CHANNEL, "papers", 0),
            SECRET_CHANNEL: self._text_channel(SECRET_CHANNEL, "private", 2),
            FORUM: {
                **self._text_channel(FORUM, "paper-forum", 1), "type": 15, "available_tags": [], "default_reaction_emoji": None,
                "default_sort_order": None, "default_forum_layout": 0, "default_thread_rate_limit_per_user": 0,
                "flags": 0, "template": "",
            },
            THREAD: self._thread(THREAD, TEXT_CHANNEL, "weekly papers", owner=ADMIN_ID),
        }

    # --- lifecycle ----------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=8 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        api = "/api/v10"
        routes = [
            ("GET", "/users/@me", self._me),
            ("GET", "/oauth2/applications/@me", self._application),
            ("GET", "/gateway/bot", self._gateway_bot),
            ("GET", "/gateway", self._gateway_plain),
            ("PUT", "/applications/{app}/commands", self._put_commands),
            ("PUT", "/applications/{app}/guilds/{guild}/commands", self._put_commands),
            ("GET", "/applications/{app}/commands", self._get_commands),
            ("GET", "/applications/{app}/guilds/{guild}/commands", self._get_commands),
            ("POST", "/interactions/{iid}/{token}/callback", self._callback),
            ("POST", "/webhooks/{app}/{token}", self._followup),
            ("GET", "/webhooks/{app}/{token}/messages/{mid}", self._get_webhook_message),
            ("PATCH", "/webhooks/{app}/{token}/messages/{mid}", self._edit_webhook_message),
            ("GET", "/channels/{cid}", self._get_channel),
            ("POST", "/channels/{cid}/messages", self._post_message),
            ("GET", "/channels/{cid}/messages", self._get_messages),
            ("POST", "/channels/{cid}/threads", self._post_thread),
            ("GET", "/guilds/{guild}/threads/active", self._active_threads),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, api + path, handler)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        return app

    async def close(self) -> None:
        for ws in list(self.sessions):
            await ws.close()
        await super().close()

    # --- test API: failures, waiting ----------------------------------------------------

    def fail(
        self, method: str, pattern: str, status: int, *, body: dict | None = None, headers: dict | None = None, times: int = 1
    ) -> None:
        """The next `times` requests matching answer `status` (429s get Discord's rate-limit headers)."""
        if body is None:
            body = {
                429: {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
                403: {"message": "Missing Access", "code": 50001},
                404: {"message": "Unknown Channel", "code": 10003},
            }.get(status, {"message": f"{status}: fake failure", "code": 0})
        extra = dict(headers or {})
        if status == 429:
            retry = float(body.get("retry_after", 0.05))
            extra = {
                "Retry-After": str(max(1, round(retry))), "Via": "1.1 google", "X-RateLimit-Scope": "user",
                "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": f"{retry:.3f}",
                "X-RateLimit-Reset": f"{time.time() + retry:.3f}", "X-RateLimit-Bucket": "fakebucket", **extra,
            }
        self.failures.append(Failure(method, re.compile(pattern), status, body, extra, times))

    async def until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until the bot's requests make `predicate` true (a deadlock guard, not a timing check)."""
        async def wait() -> None:
            async with self._changed:
                await self._changed.wait_for(predicate)

        try:
            await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            recent = [f"{c.method} {c.path} -> {c.status}" for c in self.calls[-8:]]
            raise AssertionError(f"the fake Discord never saw what the test waited for; last calls: {recent}") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.search(pattern, c.path)]

    def channel_messages(self, channel_id: int) -> list[dict]:
        return [self._public(m) for m in self.history.get(channel_id, [])]

    def forum_posts(self, forum_id: int = FORUM) -> list[dict]:
        return [c for c in self.channels.values() if c.get("parent_id") == str(forum_id) and c["type"] == 11]

    # --- test API: users ----------------------------------------------------------------

    def snowflake(self) -> int:
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._ids) & 0x3FFFFF)

    def member(self, user_id: int) -> dict:
        name = {ADMIN_ID: "ada", MEMBER_ID: "bob", OTHER_ID: "eve"}.get(user_id, "user")
        permissions = ADMIN_PERMISSIONS if user_id == ADMIN_ID else MEMBER_PERMISSIONS
        return {
            "user": user_payload(user_id, name), "roles": [], "joined_at": "2024-01-01T00:00:00+00:00", "deaf": False,
            "mute": False, "flags": 0, "pending": False, "permissions": str(permissions), "nick": None, "avatar": None,
            "banner": None, "premium_since": None, "communication_disabled_until": None, "avatar_decoration_data": None,
        }

    def _interaction(self, kind: int, data: dict | None, *, user: int, channel_id: int, message: dict | None = None) -> dict:
        payload = {
            "id": str(self.snowflake()),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"itoken-{next(self._ids)}-{'x' * 40}",
            "version": 1,
            "guild_id": str(GUILD_ID),
            "guild": {"id": str(GUILD_ID), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": {
                **self.channels[channel_id],
                "permissions": str(ADMIN_PERMISSIONS if user == ADMIN_ID else MEMBER_PERMISSIONS),
            },
            "member": self.member(user),
            "app_permissions": str(MEMBER_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if data is not None:
            payload["data"] = data
        if message is not None:
            payload["message"] = message
        return payload

    def _command_data(self, subcommand: str, options: dict[str, Any], focused: str | None = None) -> dict:
        registered = self.commands.get(str(GUILD_ID)) or self.commands.get("global") or []
        command = next((c for c in registered if c["name"] == "paper"), None)
        spec = {o["name"]: o for o in (command or {}).get("options", [])}.get(subcommand, {})
        types = {o["name"]: o["type"] for o in spec.get("options", [])}
        sub_options = []
        for name, value in options.items():
            option = {"name": name, "type": types.get(name, 4 if isinstance(value, int) else 3), "value": value}
            if name == focused:
                option["focused"] = True
                option["value"] = str(value)
            sub_options.append(option)
        data = {
            "id": (command or {}).get("id", "0"), "name": "paper", "type": 1,
            "options": [{"name": subcommand, "type": 1, "options": sub_options}],
        }
        if command is not None and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return data

    async def slash(
        self,
        subcommand: str,
        options: dict[str, Any] | None = None,
        *,
        user: int = MEMBER_ID,
        channel_id: int = TEXT_CHANNEL,
        expired: bool = False,
    ) -> InteractionRecord:
        """A user runs `/paper <subcommand> ...`: an INTERACTION_CREATE of type 2 (APPLICATION_COMMAND)."""
        payload = self._interaction(2, self._command_data(subcommand, options or {}), user=user, channel_id=channel_id)
        return await self._send_interaction(payload, expired=expired)

    async def autocomplete(
        self, subcommand: str, options: dict[str, Any], focused: str, *, user: int = MEMBER_ID
    ) -> InteractionRecord:
        """A user types into an option: an INTERACTION_CREATE of type 4 (AUTOCOMPLETE)."""
        record = await self._send_interaction(
            self._interaction(4, self._command_data(subcommand, options, focused), user=user, channel_id=TEXT_CHANNEL)
        )
        await self.until(lambda: record.choices is not None)
        return record

    async def click(
        self, message: dict, label: str, *, user: int = MEMBER_ID, channel_id: int = TEXT_CHANNEL
    ) -> InteractionRecord:
        """A user presses a button: an INTERACTION_CREATE of type 3 (MESSAGE_COMPONENT) carrying the message."""
        button = buttons(message)[label]
        data = {"custom_id": button["custom_id"], "component_type": 2}
        return await self._send_interaction(
            self._interaction(3, data, user=user, channel_id=channel_id, message=self._public(message))
        )

    async def send_raw_interaction(self, payload: dict) -> InteractionRecord:
        return await self._send_interaction(payload)

    async def _send_interaction(self, payload: dict, *, expired: bool = False) -> InteractionRecord:
        record = InteractionRecord(payload, expired=expired)
        self.interactions[payload["token"]] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def dispatch(self, event: str, data: dict) -> None:
        if not self.sessions:
            raise AssertionError("no gateway session: the bot is not connected")
        for ws in list(self.sessions):
            await self._send(ws, {"op": 0, "t": event, "d": data})

    # --- HTTP plumbing ------------------------------------------------------------------

    def _json(self, data: Any, status: int = 200, headers: dict | None = None) -> web.Response:
        base = {
            "Content-Type": "application/json", "X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset-After": "1.000", "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
        }
        return web.Response(body=json.dumps(data).encode("utf-8"), status=status, headers={**base, **(headers or {})})

    def _error(self, status: int, message: str, code: int = 0) -> web.Response:
        return self._json({"message": message, "code": code}, status)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if request.path == "/gateway":
            return await handler(request)
        body: Any = None
        files: list[tuple[str, str, bytes]] = []
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "multipart/form-data":
                body, files = _multipart(raw, request.headers["Content-Type"])
            else:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
        path = request.path.removeprefix("/api/v10")
        call = Call(request.method, path, dict(request.query), body, headers=dict(request.headers), files=files)
        self.calls.append(call)
        try:
            response = self._check_auth(request, call) or self._injected(call)
            if response is None:
                response = await handler(request)
        except web.HTTPException as error:
            response = self._error(error.status, error.reason)
        call.status = response.status
        await self._notify()
        return response

    def _check_auth(self, request: web.Request, call: Call) -> web.Response | None:
        # Interaction callbacks and webhooks authenticate with the token in the URL.
        if call.path.startswith(("/interactions/", "/webhooks/")):
            return None
        if request.headers.get("Authorization") != f"Bot {self.token}":
            return self._error(401, "401: Unauthorized")
        return None

    def _injected(self, call: Call) -> web.Response | None:
        for failure in self.failures:
            if failure.times > 0 and failure.method == call.method and failure.pattern.search(call.path):
                failure.times -= 1
                return self._json(failure.body, failure.status, failure.headers)
        return None

    def _request_body(self) -> dict:
        """The JSON object of the request being answered (the middleware records each call before its handler runs)."""
        body = self.calls[-1].body
        return body if isinstance(body, dict) else {}

    def _checked_body(self, where: str, *, partial: bool = False) -> dict:
        """`_request_body()`, with what breaks Discord's limits noted in `problems` as found at `where`."""
        body = self._request_body()
        self._check(where, body, partial=partial)
        return body

    def _check(self, where: str, body: Any, *, partial: bool = False) -> None:
        self.problems += [f"{where}: {problem}" for problem in check_message_limits(body, partial=partial)]

    async def _unknown(self, request: web.Request) -> web.Response:
        self.problems.append(f"unexpected request {request.method} {request.path}")
        return self._error(404, "404: Not Found")

    # --- login, gateway URL, commands ---------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return self._json({**self.bot_user, "verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})

    async def _application(self, request: web.Request) -> web.Response:
        return self._json({
            "id": str(APP_ID), "name": "paperbot", "icon": None, "description": "Research-paper digests", "summary": "",
            "type": None, "hook": True, "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
            "flags": 0, "owner": user_payload(ADMIN_ID, "ada"), "team": None, "bot": self.bot_user, "rpc_origins": [],
            "terms_of_service_url": None, "privacy_policy_url": None, "interactions_endpoint_url": None,
            "redirect_uris": [], "tags": [], "install_params": None, "integration_types_config": {}, "approximate_guild_count": 1,
        })

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        return self._json({
            "url": f"ws://127.0.0.1:{self.port}/gateway", "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        })

    async def _gateway_plain(self, request: web.Request) -> web.Response:
        return self._json({"url": f"ws://127.0.0.1:{self.port}/gateway"})

    async def _put_commands(self, request: web.Request) -> web.Response:
        body = await request.json()
        guild = request.match_info.get("guild")
        if request.match_info["app"] != str(APP_ID):
            return self._error(403, "Missing Access", 50001)
        if not isinstance(body, list):
            return self._error(400, "Invalid Form Body", 50035)
        registered = []
        for command in body:
            problems = self._check_command(command)
            if problems:
                self.problems += problems
                return self._error(400, "Invalid Form Body", 50035)
            registered.append({
                **command, "id": str(self.snowflake()), "application_id": str(APP_ID), "version": str(self.snowflake()),
                **({"guild_id": guild} if guild else {}),
            })
        self.commands[guild or "global"] = registered
        self.command_writes.append(guild or "global")
        return self._json(registered)

    async def _get_commands(self, request: web.Request) -> web.Response:
        return self._json(self.commands.get(request.match_info.get("guild") or "global", []))

    def _check_command(self, command: dict, depth: int = 0) -> list[str]:
        """Discord's rules for command definitions: names, descriptions, option counts."""
        problems = []
        name, description = command.get("name", ""), command.get("description", "")
        if not re.fullmatch(r"[-_a-z0-9]{1,32}", name):
            problems.append(f"command name {name!r} is invalid")
        if not 1 <= len(description) <= 100:
            problems.append(f"{name}: description has {len(description)} characters (1-100)")
        options = command.get("options", [])
        if len(options) > 25:
            problems.append(f"{name}: {len(options)} options (max 25)")
        seen_optional = False
        for option in options:
            if option.get("type") in (1, 2):
                problems += self._check_command(option, depth + 1)
                continue
            problems += [
                f"{name}.{p}"
                for p in self._check_command({k: v for k, v in option.items() if k in ("name", "description")}, depth + 1)
            ]
            if option.get("required"):
                if seen_optional:
                    problems.append(f"{name}: required option {option['name']} after an optional one")
            else:
                seen_optional = True
            if option.get("autocomplete") and option.get("choices"):
                problems.append(f"{name}.{option['name']}: autocomplete and choices together")
        return problems

    # --- gateway ------------------------------------------------------------------------

    async def _send(self, ws: web.WebSocketResponse, payload: dict) -> None:
        if payload.get("op") == 0:
            self._seq[id(ws)] = self._seq.get(id(ws), 0) + 1
            payload = {**payload, "s": self._seq[id(ws)]}
        else:
            payload = {"s": None, "t": None, **payload}
        await ws.send_str(json.dumps(payload))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.gateway_queries.append(dict(request.query))
        await self._send(ws, {"op": 10, "d": {"heartbeat_interval": 41250, "_trace": ["fake-gateway"]}})
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                payload = json.loads(message.data)
                op = payload.get("op")
                if op == 1:
                    self.heartbeats += 1
                    await self._send(ws, {"op": 11})
                elif op == 2:
                    self.identifies.append(payload["d"])
                    if payload["d"].get("token") != self.gateway_token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    self.sessions.append(ws)
                    await self._ready(ws, payload["d"])
                elif op == 6:
                    self.resumes.append(payload["d"])
                    if payload["d"].get("token") != self.gateway_token:
                        await self._send(ws, {"op": 9, "d": False})
                    else:
                        self.sessions.append(ws)
                        await self._send(ws, {"op": 0, "t": "RESUMED", "d": {"_trace": ["fake-gateway"]}})
                await self._notify()
        finally:
            if ws in self.sessions:
                self.sessions.remove(ws)
        return ws

    async def _ready(self, ws: web.WebSocketResponse, identify: dict) -> None:
        ready = {
            "v": 10, "user": {**self.bot_user, "verified": True, "mfa_enabled": False}, "user_settings": {},
            "session_type": "normal", "session_id": f"fake-session-{next(self._ids)}",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway", "relationships": [], "private_channels": [],
            "presences": [], "guilds": [{"id": str(GUILD_ID), "unavailable": True}], "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east"], "application": {"id": str(APP_ID), "flags": 0}, "_trace": ["fake-gateway"],
        }
        if "shard" in identify:
            ready["shard"] = identify["shard"]
        await self._send(ws, {"op": 0, "t": "READY", "d": ready})
        await self._send(ws, {"op": 0, "t": "GUILD_CREATE", "d": self._guild()})

    def _guild(self) -> dict:
        everyone = {
            "id": str(GUILD_ID), "name": "@everyone", "permissions": str(MEMBER_PERMISSIONS), "position": 0, "color": 0,
            "hoist": False, "managed": False, "mentionable": False, "icon": None, "unicode_emoji": None, "flags": 0,
        }
        bot_member = {**self.member(APP_ID), "user": self.bot_user}
        bot_member.pop("permissions")
        return {
            "id": str(GUILD_ID), "name": "Paper Reading Group", "icon": None, "splash": None, "discovery_splash": None,
            "owner_id": str(ADMIN_ID), "afk_channel_id": None, "afk_timeout": 300, "verification_level": 1,
            "default_message_notifications": 1, "explicit_content_filter": 0, "roles": [everyone], "emojis": [],
            "features": [], "mfa_level": 0, "application_id": None, "system_channel_id": str(TEXT_CHANNEL),
            "system_channel_flags": 0, "rules_channel_id": None, "max_presences": None, "max_members": 500000,
            "vanity_url_code": None, "description": None, "banner": None, "premium_tier": 0,
            "premium_subscription_count": 0, "preferred_locale": "en-US", "public_updates_channel_id": None,
            "max_video_channel_users": 25, "nsfw_level": 0, "stickers": [], "premium_progress_bar_enabled": False,
            "safety_alerts_channel_id": None, "joined_at": "2024-01-01T00:00:00+00:00", "large": False,
            "unavailable": False, "member_count": 4, "voice_states": [], "members": [bot_member],
            "channels": [c for c in self.channels.values() if c["type"] != 11],
            "threads": [c for c in self.channels.values() if c["type"] == 11], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [], "incidents_data": None,
            "lazy": True,
        }

    # --- channels -----------------------------------------------------------------------

    def _text_channel(self, channel_id: int, name: str, position: int) -> dict:
        return {
            "id": str(channel_id), "type": 0, "guild_id": str(GUILD_ID), "name": name, "position": position,
            "permission_overwrites": [], "parent_id": None, "topic": None, "nsfw": False, "last_message_id": None,
            "rate_limit_per_user": 0, "default_auto_archive_duration": 1440, "flags": 0,
        }

    def _thread(self, thread_id: int, parent_id: int, name: str, *, owner: int) -> dict:
        return {
            "id": str(thread_id),
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": str(parent_id),
            "owner_id": str(owner),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_iso(),
                "locked": False,
                "create_timestamp": now_iso(),
            },
        }

    def _channel_or_error(self, raw_id: str) -> tuple[dict | None, web.Response | None]:
        channel = self.channels.get(int(raw_id)) if raw_id.isdigit() else None
        if channel is None:
            return None, self._error(404, "Unknown Channel", 10003)
        if int(raw_id) in self.forbidden:
            return None, self._error(403, "Missing Access", 50001)
        return channel, None

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel, error = self._channel_or_error(request.match_info["cid"])
        return error or self._json(channel)

    def _new_message(
        self,
        channel_id: int,
        body: dict,
        *,
        flags: int = 0,
        kind: int = 0,
        interaction: dict | None = None,
        message_id: int | None = None,
    ) -> dict:
        message = {
            "id": str(message_id or self.snowflake()), "channel_id": str(channel_id), "guild_id": str(GUILD_ID), "type": kind,
            "content": body.get("content") or "", "embeds": [{**embed, "type": "rich"} for embed in body.get("embeds") or []],
            "components": self._echo_components(body.get("components")), "author": self.bot_user, "timestamp": now_iso(),
            "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [], "pinned": False, "flags": flags, "position": 0,
        }
        if interaction is not None:
            message["webhook_id"] = str(APP_ID)
            message["application_id"] = str(APP_ID)
            message["interaction_metadata"] = {
                "id": interaction["id"],
                "type": interaction["type"],
                "user": interaction.get("member", {}).get("user") or interaction.get("user"),
                "authorizing_integration_owners": {"0": str(GUILD_ID)},
            }
        return message

    def _attach(self, body: dict, files: list[tuple[str, str, bytes]]) -> list[dict]:
        """The message's `attachments`, from the payload's list and the uploaded `files[n]` parts it names."""
        uploaded = {name: (filename, data) for name, filename, data in files}
        attached = []
        for item in body.get("attachments") or []:
            part = uploaded.get(f"files[{item.get('id')}]")
            if part is None:
                self.problems.append(f"attachment {item!r} names no uploaded files[n] part")
                continue
            filename, data = part
            attachment_id = str(self.snowflake())
            self.attachments[attachment_id] = data
            attached.append({"id": attachment_id, "filename": item.get("filename") or filename, "size": len(data),
                             "url": f"{self.url}/attachments/{attachment_id}/{filename}"})  # fmt: skip
        if files and not attached:
            self.problems.append("files were uploaded but the payload lists no attachments")
        return attached

    def _echo_components(self, rows: Any) -> list[dict]:
        echoed = []
        for row in rows or []:
            children = [{**child, "id": next(self._ids)} for child in row.get("components", [])]
            echoed.append({"type": 1, "id": next(self._ids), "components": children})
        return echoed

    @staticmethod
    def _public(message: dict) -> dict:
        return {k: v for k, v in message.items() if k != "nonce"}

    async def _post_message(self, request: web.Request) -> web.Response:
        channel, error = self._channel_or_error(request.match_info["cid"])
        if error:
            return error
        body = self._checked_body(f"POST /channels/{channel['id']}/messages")
        if channel["type"] == 15:
            return self._error(400, "Cannot send messages in a non-text channel", 50008)
        channel_id = int(channel["id"])
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            for existing in self.history.get(channel_id, []):
                if existing.get("nonce") == str(nonce):
                    return self._json(existing)  # Discord returns the message already created with this nonce
        message = self._new_message(channel_id, body)
        if nonce is not None:
            message["nonce"] = str(nonce)
        self.history.setdefault(channel_id, []).append(message)
        return self._json(message)

    async def _get_messages(self, request: web.Request) -> web.Response:
        channel, error = self._channel_or_error(request.match_info["cid"])
        if error:
            return error
        limit = max(1, min(100, int(request.query.get("limit", "50"))))
        messages = [self._public(m) for m in self.history.get(int(channel["id"]), [])]
        if "after" in request.query:
            after = int(request.query["after"])
            older_first = [m for m in messages if int(m["id"]) > after][:limit]
            return self._json(list(reversed(older_first)))
        if "before" in request.query:
            before = int(request.query["before"])
            messages = [m for m in messages if int(m["id"]) < before]
        return self._json(list(reversed(messages))[:limit])

    async def _post_thread(self, request: web.Request) -> web.Response:
        channel, error = self._channel_or_error(request.match_info["cid"])
        if error:
            return error
        body = self._checked_body(f"POST /channels/{channel['id']}/threads")
        if channel["type"] != 15 or "message" not in body:
            return self._error(400, "Invalid Form Body", 50035)
        thread_id = self.snowflake()
        thread = self._thread(thread_id, int(channel["id"]), body.get("name", ""), owner=APP_ID)
        self.channels[thread_id] = thread
        starter = self._new_message(
            thread_id, body["message"], message_id=thread_id
        )  # a forum post's first message has the thread's id
        self.history[thread_id] = [starter]
        return self._json({**thread, "message": self._public(starter)}, 201)

    async def _active_threads(self, request: web.Request) -> web.Response:
        threads = [c for c in self.channels.values() if c["type"] == 11 and not c["thread_metadata"]["archived"]]
        return self._json({"threads": threads, "members": []})

    # --- interactions -------------------------------------------------------------------

    def _record_or_error(
        self, token: str, code: int = 10062, message: str = "Unknown interaction"
    ) -> tuple[InteractionRecord | None, web.Response | None]:
        record = self.interactions.get(token)
        if record is None:
            return None, self._error(404, message, code)
        return record, None

    async def _callback(self, request: web.Request) -> web.Response:
        call = self.calls[-1]
        record, error = self._record_or_error(request.match_info["token"])
        if error:
            return error
        if request.match_info["iid"] != record.payload["id"] or record.expired:
            return self._error(404, "Unknown interaction", 10062)
        if record.callbacks:
            return self._error(400, "Interaction has already been acknowledged.", 40060)
        body = self._request_body()
        record.callbacks.append(body)
        kind, data = body.get("type"), body.get("data") or {}
        self._check(f"callback type {kind}", body)
        channel_id = int(record.payload["channel_id"])
        message: dict | None = None
        if kind == CHANNEL_MESSAGE:
            flags = data.get("flags", 0) & EPHEMERAL
            message = self._new_message(
                channel_id, data, flags=flags, kind=20 if record.payload["type"] == 2 else 0, interaction=record.payload
            )
            message["attachments"] = self._attach(data, call.files)
            record.messages.append(message)
            if not flags:
                self.history.setdefault(channel_id, []).append(message)
        elif kind == DEFERRED_MESSAGE:
            flags = (data.get("flags", 0) & EPHEMERAL) | LOADING
            message = self._new_message(channel_id, {}, flags=flags, kind=20, interaction=record.payload)
            record.messages.append(message)
        elif kind == UPDATE_MESSAGE:
            target = self._find_message(record.payload["message"]["id"])
            if target is None:
                return self._error(404, "Unknown Message", 10008)
            self._apply_edit(target, data)
            message = target
        elif kind == AUTOCOMPLETE_RESULT:
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                self.problems.append(f"autocomplete: {len(choices or [])} choices (max 25)")
            for choice in choices or []:
                if not 1 <= len(str(choice.get("name", ""))) <= 100 or len(str(choice.get("value", ""))) > 100:
                    self.problems.append(f"autocomplete choice out of limits: {choice!r}")
            record.choices = choices or []
        elif kind != DEFERRED_UPDATE:
            return self._error(400, "Invalid interaction response type", 50035)
        interaction = {"id": record.payload["id"], "type": record.payload["type"]}
        answer: dict[str, Any] = {"interaction": interaction}
        if message is not None:
            interaction.update(
                response_message_id=message["id"], response_message_loading=bool(message["flags"] & LOADING),
                response_message_ephemeral=bool(message["flags"] & EPHEMERAL),
            )
            answer["resource"] = {"type": kind, "message": self._public(message)}
        return self._json(answer)

    def _find_message(self, message_id: str) -> dict | None:
        for record in self.interactions.values():
            for message in record.messages:
                if message["id"] == message_id:
                    return message
        for messages in self.history.values():
            for message in messages:
                if message["id"] == message_id:
                    return message
        return None

    def _apply_edit(self, message: dict, data: dict) -> None:
        if "content" in data:
            message["content"] = data["content"] or ""
        if "embeds" in data:
            message["embeds"] = [{**embed, "type": "rich"} for embed in data["embeds"] or []]
        if "components" in data:
            message["components"] = self._echo_components(data["components"])
        message["edited_timestamp"] = now_iso()

    async def _followup(self, request: web.Request) -> web.Response:
        call = self.calls[-1]
        if request.match_info["app"] != str(APP_ID):
            return self._error(404, "Unknown Webhook", 10015)
        record, error = self._record_or_error(request.match_info["token"], 10015, "Unknown Webhook")
        if error:
            return error
        if not record.callbacks:
            return self._error(404, "Unknown Webhook", 10015)  # no initial response yet
        body = self._checked_body("followup")
        original = record.original
        if original is not None and original["flags"] & LOADING:
            # The first followup after a deferred response fills in the "thinking" message.
            self._apply_edit(original, {k: body.get(k) for k in ("content", "embeds", "components") if k in body})
            original["flags"] &= ~LOADING
            message = original
        else:
            flags = body.get("flags", 0) & EPHEMERAL
            message = self._new_message(int(record.payload["channel_id"]), body, flags=flags, kind=0, interaction=record.payload)
            message["attachments"] = self._attach(body, call.files)
            record.messages.append(message)
        if not message["flags"] & EPHEMERAL and message not in self.history.get(int(message["channel_id"]), []):
            self.history.setdefault(int(message["channel_id"]), []).append(message)
        if request.query.get("wait") not in ("true", "True", "1"):
            return web.Response(status=204)
        return self._json(self._public(message))

    def _webhook_message(self, request: web.Request) -> tuple[dict | None, web.Response | None]:
        record, error = self._record_or_error(request.match_info["token"], 10015, "Unknown Webhook")
        if error:
            return None, error
        mid = request.match_info["mid"]
        message = record.original if mid == "@original" else next((m for m in record.messages if m["id"] == mid), None)
        if message is None:
            return None, self._error(404, "Unknown Message", 10008)
        return message, None

    async def _get_webhook_message(self, request: web.Request) -> web.Response:
        message, error = self._webhook_message(request)
        return error or self._json(self._public(message))

    async def _edit_webhook_message(self, request: web.Request) -> web.Response:
        message, error = self._webhook_message(request)
        if error:
            return error
        body = self._checked_body("PATCH webhook message", partial=True)
        self._apply_edit(message, body)
        message["flags"] &= ~LOADING
        return self._json(self._public(message))


def _multipart(raw: bytes, content_type: str) -> tuple[Any, list[tuple[str, str, bytes]]]:
    """A multipart/form-data body: its `payload_json` part as the body, and its files."""
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    body: Any = None
    files: list[tuple[str, str, bytes]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if name == "payload_json":
            body = json.loads(data)
        else:
            files.append((str(name), part.get_filename() or "", data))
    return body, files
