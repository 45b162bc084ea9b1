"""A fake Slack on 127.0.0.1: the Web API methods paperbot calls, response_urls, and what Slack sends.

The real slack_sdk `AsyncWebClient` (and bolt's `respond`) talk to it over
HTTP; it runs in the test's own event loop (aiohttp.web), so a test drives
the bot and the fake together.

Web API (under `/api/`): auth.test, chat.postMessage, chat.delete, users.info,
conversations.history, conversations.replies, and the files.uploadV2 flow
(files.getUploadURLExternal hands out an upload URL on the fake, the bytes are
POSTed there, files.completeUploadExternal shares them in the channel as a
message with `files`; a length that does not match or a file never uploaded is
refused as Slack refuses it). `fake.uploaded(channel)` gives (name, bytes). Requests must carry the bot
token (`Authorization: Bearer ...`), as on Slack; a wrong one gets
`invalid_auth`. Answers are shaped like Slack's (`ok`, `error`, `ts`,
`messages`, `has_more`, `response_metadata.next_cursor`); messages keep their
`metadata`, returned by history only with `include_all_metadata`.

Socket Mode: with an `app_token`, `apps.connections.open` hands out a
websocket URL on the fake; it says hello, `send_envelope(...)` delivers an
event on it and the client's acks are kept in `fake.socket_acks`.

response_urls: `fake.response_url(name)` gives a URL whose posts are kept in
`fake.responses[name]`; its path has the shape of Slack's
(`/commands/<team>/<number>/<secret>`, the name being the secret part).

Checks: every message it receives (chat.postMessage and response_url posts)
goes through `adapters.slack.limits.check_message_limits` and `find_mentions`;
any problem is kept in `fake.violations` (tests assert it stays empty) and
the request is refused with `invalid_blocks`, as Slack would.

Scripting:

    fake.fail("chat.postMessage", "not_in_channel", times=1)   # the next call answers ok=false
    fake.fail("chat.postMessage", "fatal_error", after=1)      # the call after the next one does
    fake.rate_limit("chat.postMessage", retry_after="2")       # one 429 with Retry-After: 2
    fake.server_error("chat.postMessage", status=500)          # one HTTP 500
    fake.channel_error("C_GONE", "not_in_channel")             # every call about C_GONE, until cleared
    fake.users["U1"] = {"is_admin": True}                       # users.info flags

The helpers at the end build what Slack sends to the bot: form-encoded slash
commands and block_actions payloads, signed with the signing secret (v0 HMAC).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode

from aiohttp import web

from adapters.slack.limits import check_message_limits, find_mentions
from tests.support.local_server import LoopFake

TEAM_ID = "T0PAPERS"
BOT_USER = "U0PAPERBOT"
_TRUE = {"1", "true", "True", True}


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    status: int = 200
    error: str | None = None


@dataclass
class _Rule:
    method: str
    times: int
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    after: int = 0  # calls to let through before the rule applies


class FakeSlack(LoopFake):
    def __init__(self, token: str, *, app_token: str | None = None) -> None:
        self.token = token
        self.app_token = app_token
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: dict[str, dict] = {}
        self.socket_url: str | None = None  # what apps.connections.open hands out instead of the fake's own
        self.calls: list[Call] = []
        self.channels: dict[str, list[dict]] = {}  # channel id -> messages, oldest first
        self.responses: dict[str, list[dict]] = {}
        self.violations: list[str] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}  # file id -> filename, declared length, uploaded bytes
        self._rules: list[_Rule] = []
        self._channel_errors: dict[str, str] = {}
        self._serial = 0
        self._changed = asyncio.Condition()

    # --- lifecycle ----------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/commands/{team}/{hook}/{name}", self._respond)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        return app

    async def close(self) -> None:
        for socket in list(self.sockets):
            await socket.close()
        await super().close()

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    def response_url(self, name: str) -> str:
        return f"{self.url}/commands/{TEAM_ID}/1750000000{len(self.responses):03d}/{name}"

    # --- scripting ----------------------------------------------------------------------

    def fail(self, method: str, error: str, *, times: int = 1, after: int = 0) -> None:
        self._rules.append(_Rule(method, times, 200, error, after=after))

    def rate_limit(self, method: str, *, retry_after: str = "1", times: int = 1) -> None:
        self._rules.append(_Rule(method, times, 429, "ratelimited", {"Retry-After": retry_after}))

    def server_error(self, method: str, *, status: int = 500, times: int = 1) -> None:
        self._rules.append(_Rule(method, times, status, None))

    def channel_error(self, channel: str, error: str | None) -> None:
        if error is None:
            self._channel_errors.pop(channel, None)
        else:
            self._channel_errors[channel] = error

    def add_message(self, channel: str, text: str, *, metadata: dict | None = None, thread_ts: str | None = None) -> str:
        """A message already in the channel (someone else's, or one posted before a crash)."""
        return self._store_message(channel, {"type": "message", "text": text, "metadata": metadata, "thread_ts": thread_ts})["ts"]

    # --- reading ------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def posted(self, channel: str) -> list[dict]:
        return list(self.channels.get(channel, []))

    def uploaded(self, channel: str) -> list[tuple[str, bytes]]:
        """(file name, bytes) of each file shared in the channel, oldest first."""
        return [(f["name"], self.files[f["id"]]["data"]) for m in self.posted(channel) for f in m.get("files") or []]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Until `predicate()` is truthy (checked after every request the fake serves)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        return predicate()

    async def wait_for_responses(self, name: str, count: int = 1, timeout: float = 10.0) -> list[dict]:
        return await self.wait_for(lambda: len(self.responses.get(name, [])) >= count and self.responses[name], timeout)

    # --- serving ------------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                args.update(body)
        elif request.can_read_body:
            args.update(dict(await request.post()))
        return args

    def _authorized(self, request: web.Request, args: dict[str, Any]) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else args.get("token")
        expected = self.app_token if request.match_info["method"] == "apps.connections.open" else self.token
        return expected is not None and token == expected

    def _rule_for(self, method: str) -> _Rule | None:
        for rule in self._rules:
            if rule.method == method and rule.times > 0:
                if rule.after > 0:
                    rule.after -= 1
                    continue
                rule.times -= 1
                return rule
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        args.pop("token", None)
        status, body, headers = self._answer(method, args, request)
        self.calls.append(Call(method, args, status, None if body.get("ok") else body.get("error")))
        await self._notify()
        return web.json_response(body, status=status, headers=headers)

    def _answer(self, method: str, args: dict[str, Any], request: web.Request) -> tuple[int, dict, dict]:
        if not self._authorized(request, args):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        rule = self._rule_for(method)
        if rule is not None:
            body = {"ok": False, "error": rule.error or "internal_error"}
            return rule.status, body, rule.headers
        channel = str(args.get("channel") or args.get("channel_id") or "")
        if channel in self._channel_errors and method != "auth.test":
            return 200, {"ok": False, "error": self._channel_errors[channel]}, {}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return 200, handler(args), {}

    # --- methods ------------------------------------------------------------------------

    def _auth_test(self, args: dict) -> dict:
        return {"ok": True, "url": "https://papers.slack.example/", "team": "Papers Lab", "user": "paperbot",
                "team_id": TEAM_ID, "user_id": BOT_USER, "bot_id": "B0PAPERBOT"}

    def _chat_postMessage(self, args: dict) -> dict:
        message = {key: _json_field(args.get(key)) for key in ("text", "blocks", "metadata")}
        problems = self._check(message, "chat.postMessage")
        if problems:
            return {"ok": False, "error": "invalid_blocks", "errors": problems}
        stored = self._store_message(str(args["channel"]), {
            "type": "message", "user": BOT_USER, "bot_id": "B0PAPERBOT", **message,
            "thread_ts": args.get("thread_ts"),
            "unfurl_links": args.get("unfurl_links"),
        })
        return {"ok": True, "channel": args["channel"], "ts": stored["ts"], "message": stored}

    def _chat_delete(self, args: dict) -> dict:
        messages = self.channels.get(str(args.get("channel")), [])
        for message in messages:
            if message["ts"] == args.get("ts"):
                messages.remove(message)
                return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        return {"ok": False, "error": "message_not_found"}

    def _users_info(self, args: dict) -> dict:
        user = str(args.get("user", ""))
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": user, "team_id": TEAM_ID, "name": user.lower(), **self.users[user]}}

    def _conversations_history(self, args: dict) -> dict:
        messages = [m for m in self.channels.get(str(args["channel"]), []) if not m.get("thread_ts")]
        return self._page(list(reversed(messages)), args)

    def _conversations_replies(self, args: dict) -> dict:
        messages = [m for m in self.channels.get(str(args["channel"]), []) if m.get("thread_ts") == args.get("ts")]
        return self._page(messages, args)

    def _page(self, messages: list[dict], args: dict) -> dict:
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = messages[start : start + limit]
        with_metadata = args.get("include_all_metadata") in _TRUE
        shown = [{k: v for k, v in m.items() if v is not None and (with_metadata or k != "metadata")} for m in page]
        more = start + limit < len(messages)
        return {"ok": True, "messages": shown, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _files_getUploadURLExternal(self, args: dict) -> dict:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F0PAPER{len(self.files) + 1:04d}"
        self.files[file_id] = {"name": filename, "length": int(length), "data": None}
        return {"ok": True, "upload_url": f"{self.url}/upload/v1/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict) -> dict:
        files = _json_field(args.get("files"))
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        shared = []
        for item in files:
            known = self.files.get(str(item.get("id")))
            if known is None or known["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            shared.append({"id": item["id"], "name": known["name"], "title": item.get("title") or known["name"],
                           "size": len(known["data"])})  # fmt: skip
        channel = args.get("channel_id")
        if channel:
            comment = {"text": args.get("initial_comment") or ""}
            problems = self._check(comment, "files.completeUploadExternal")
            if problems:
                return {"ok": False, "error": "invalid_arguments", "errors": problems}
            self._store_message(str(channel), {"type": "message", **comment, "user": BOT_USER, "files": shared, "upload": True})
        return {"ok": True, "files": shared}

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL files.getUploadURLExternal handed out: takes exactly the bytes it was told of."""
        known = self.files.get(request.match_info["file_id"])
        data = await request.read()
        self.calls.append(Call("upload", {"file_id": request.match_info["file_id"], "bytes": len(data)}))
        await self._notify()
        if known is None:
            return web.Response(status=404, text="not found")
        if len(data) != known["length"]:
            return web.Response(status=400, text="length mismatch")
        known["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    def _apps_connections_open(self, args: dict) -> dict:
        return {"ok": True, "url": self.socket_url or self.url.replace("http://", "ws://") + "/socket"}

    # --- Socket Mode --------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()  # answers the client's pings itself
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0PAPERBOT"}})
        await self._notify()
        try:
            async for message in socket:
                if message.type == web.WSMsgType.TEXT:
                    ack = json.loads(message.data)
                    self.socket_acks[ack.get("envelope_id", "")] = ack
                    await self._notify()
        finally:
            self.sockets.remove(socket)
        return socket

    async def send_envelope(self, kind: str, payload: dict) -> str:
        """Deliver an event over the open Socket Mode connection, as Slack does; returns its envelope id."""
        envelope_id = f"env-{self._serial}-{len(self.socket_acks)}-{time.monotonic_ns()}"
        await self.sockets[-1].send_json(
            {"envelope_id": envelope_id, "type": kind, "accepts_response_payload": kind != "events_api", "payload": payload}
        )
        return envelope_id

    # --- response_url -------------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        payload = await request.json()
        problems = [] if payload.get("delete_original") else self._check(payload, f"response_url {name}")
        self.responses.setdefault(name, []).append(payload)
        await self._notify()
        if problems:
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    # --- bookkeeping --------------------------------------------------------------------

    def _check(self, message: dict, where: str) -> list[str]:
        problems = check_message_limits(message)
        mentions = find_mentions(message)
        if mentions:
            problems.append(f"mentions {mentions}")
        self.violations += [f"{where}: {problem}" for problem in problems]
        return problems

    def _store_message(self, channel: str, message: dict) -> dict:
        self._serial += 1
        stored = {**message, "ts": f"{1750000000 + self._serial}.{self._serial:06d}"}
        self.channels.setdefault(channel, []).append(stored)
        return stored


def _json_field(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# --- what Slack sends to the bot ---------------------------------------------------------


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds to a request: timestamp and v0 signature (HMAC-SHA256)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_command(text: str, *, user: str, channel: str, response_url: str, team: str = TEAM_ID) -> str:
    """The form body of a `/paper` invocation, as Slack posts it."""
    return urlencode({
        "token": "verification-token-unused", "team_id": team, "team_domain": "papers",
        "channel_id": channel, "channel_name": "papers", "user_id": user, "user_name": user.lower(),
        "command": "/paper", "text": text, "api_app_id": "A0PAPERBOT", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": "1.2.3",
    })


def block_action(
    value: str, *, user: str, channel: str, response_url: str, action_id: str = "paperbot_share", team: str = TEAM_ID
) -> str:
    """The form body of a button press on an ephemeral message (a `block_actions` payload)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": "A0PAPERBOT",
        "token": "verification-token-unused",
        "container": {"type": "message", "message_ts": "1750000000.000001", "channel_id": channel, "is_ephemeral": True},
        "trigger_id": "1.2.3",
        "team": {"id": team, "domain": "papers"},
        "channel": {"id": channel, "name": "papers"},
        "response_url": response_url,
        "actions": [{
            "action_id": action_id, "block_id": action_id, "type": "button", "value": value,
            "text": {"type": "plain_text", "text": "Share in channel"}, "action_ts": "1750000001.000000",
        }],
    }
    return urlencode({"payload": json.dumps(payload)})
