"""A fake OpenAI-compatible chat-completions server on 127.0.0.1: real HTTP, real-shaped JSON.

The real `openai` client talks to it, from the test's event loop or from a
`paperbot notes` subprocess, so it serves from its own thread with its own
event loop (aiohttp.web). `POST /v1/chat/completions` answers like OpenAI's
API: a `chat.completion` object with choices, usage and a fingerprint, or an
`{"error": {...}}` body with the status. Every request body and its
Authorization header are recorded.

Without a script it behaves like a cooperative model: it reads the title
from the prompt and answers valid notes in the language the prompt asks for.
Scripting (each rule is used up after `times` requests, in order):

    fake.answer({"headline": ...})            # this JSON object as the answer's content
    fake.answer("not json at all")            # this text as the content
    fake.fail(429, retry_after="1")           # an error status, optionally with Retry-After
    fake.refuse("I can't help with that.")    # message.refusal set, content null
    fake.hang(2.0)                            # answer only after 2 s (past the client's timeout)
    fake.raw("<html>proxy</html>", "text/html")  # a 200 that is no completion (a captive proxy, a wrong URL)
    fake.hold(2, times=5)                     # answer once 2 requests are in flight (at most 10 s later)
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

COMPLETIONS_PATH = "/v1/chat/completions"

EN_NOTES = {
    "headline": "{title}: a reward model that checks its own reasoning",
    "motivation": "Reward models for vision-language models judge answers without looking at the reasoning, so errors in the chain go unnoticed.",
    "method": "The paper trains a reward model that scores each reasoning step against the image and aggregates the step scores.",
    "results": "The abstract reports better agreement with human preferences than outcome-only reward models on three benchmarks.",
    "takeaways": "Step-level rewards give denser feedback.\nGrounding each step in the image reduces reward hacking.",
}
ZH_NOTES = {
    "headline": "{title}：会检查推理过程的奖励模型",
    "motivation": "现有的视觉语言模型奖励模型只看最终答案，不检查推理过程，推理链中的错误因此无法被发现。",
    "method": "本文训练一个奖励模型，逐步对照图像为每个推理步骤打分，再把各步得分汇总为整体奖励。",
    "results": "摘要称在三个基准上，该方法与人类偏好的一致性优于只看结果的奖励模型。",
    "takeaways": "逐步奖励提供更密集的反馈。\n让每一步都以图像为依据，可以减少奖励投机。",
}


@dataclass
class _Rule:
    kind: str  # answer | fail | refuse | hang | raw | hold
    times: int
    content: str | None = None
    status: int = 200
    retry_after: str | None = None
    seconds: float = 0.0
    message: str = ""
    content_type: str = "application/json"
    in_flight: int = 0


@dataclass
class Recorded:
    body: dict[str, Any]
    authorization: str | None

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])


@dataclass
class FakeOpenAI:
    """Start with `with FakeOpenAI() as fake:`; `fake.base_url` is what OPENAI_BASE_URL should be."""

    model_name: str = "fake-notes-1"
    requests: list[Recorded] = field(default_factory=list)
    max_in_flight: int = 0  # the most requests it was answering at once
    _in_flight: int = 0
    _rules: list[_Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- scripting ------------------------------------------------------------------

    def answer(self, content: dict | str, times: int = 1) -> "FakeOpenAI":
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return self._add(_Rule("answer", times, content=text))

    def fail(self, status: int, *, retry_after: str | None = None, message: str = "", times: int = 1) -> "FakeOpenAI":
        return self._add(_Rule("fail", times, status=status, retry_after=retry_after, message=message))

    def refuse(self, text: str = "I'm sorry, I can't help with that.", times: int = 1) -> "FakeOpenAI":
        return self._add(_Rule("refuse", times, content=text))

    def hang(self, seconds: float, times: int = 1) -> "FakeOpenAI":
        return self._add(_Rule("hang", times, seconds=seconds))

    def raw(self, body: str, content_type: str, times: int = 1) -> "FakeOpenAI":
        return self._add(_Rule("raw", times, content=body, content_type=content_type))

    def hold(self, in_flight: int, times: int = 1) -> "FakeOpenAI":
        """Answer only once `in_flight` requests are open at the same time: shows concurrency without timing."""
        return self._add(_Rule("hold", times, in_flight=in_flight))

    def _add(self, rule: _Rule) -> "FakeOpenAI":
        with self._lock:
            self._rules.append(rule)
        return self

    def _next_rule(self) -> _Rule | None:
        with self._lock:
            if not self._rules:
                return None
            rule = self._rules[0]
            rule.times -= 1
            if rule.times <= 0:
                self._rules.pop(0)
            return rule

    # --- serving --------------------------------------------------------------------

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        self._in_flight += 1  # the server's own loop: no lock needed
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self._answer(request)
        finally:
            self._in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
        with self._lock:
            self.requests.append(Recorded(body, request.headers.get("Authorization")))
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            return _error(400, "you must provide a model parameter and a list of messages", "invalid_request_error")
        rule = self._next_rule()
        if rule is None:
            return _completion(body["model"], _cooperative_answer(body["messages"]))
        if rule.kind == "hang":
            await asyncio.sleep(rule.seconds)
            return _completion(body["model"], _cooperative_answer(body["messages"]))
        if rule.kind == "fail":
            headers = {"Retry-After": rule.retry_after} if rule.retry_after is not None else {}
            kind = "rate_limit_error" if rule.status == 429 else "server_error" if rule.status >= 500 else "invalid_request_error"
            return _error(rule.status, rule.message or f"fake failure {rule.status}", kind, headers)
        if rule.kind == "hold":
            deadline = time.monotonic() + 10
            while self._in_flight < rule.in_flight and self.max_in_flight < rule.in_flight and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            return _completion(body["model"], _cooperative_answer(body["messages"]))
        if rule.kind == "raw":
            return web.Response(text=rule.content, content_type=rule.content_type)
        if rule.kind == "refuse":
            return _completion(body["model"], None, refusal=rule.content)
        return _completion(body["model"], rule.content)

    # --- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> "FakeOpenAI":
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            app = web.Application()
            app.router.add_post(COMPLETIONS_PATH, self._completions)
            self._runner = web.AppRunner(app, shutdown_timeout=0.1)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            started.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        try:
            future.result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _cooperative_answer(messages: list[dict[str, Any]]) -> str:
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    title_match = re.search(r"^Title: (.+)$", prompt, re.M)
    # Like a model would: the method's name ("DriveRX: A Vision-Language ..." -> "DriveRX"), not the whole title.
    title = (title_match.group(1) if title_match else "This paper").split(":")[0][:40]
    notes = ZH_NOTES if "Simplified Chinese" in prompt else EN_NOTES
    return json.dumps({name: text.format(title=title) for name, text in notes.items()}, ensure_ascii=False)


def _completion(model: str, content: str | None, *, refusal: str | None = None) -> web.Response:
    return web.json_response(
        {
            "id": f"chatcmpl-fake{time.monotonic_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 250, "completion_tokens": 180, "total_tokens": 430},
            "system_fingerprint": "fp_fake",
        }
    )


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.json_response(body, status=status, headers=headers or {})
