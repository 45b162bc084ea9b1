"""A fake OpenAI-compatible chat-completions server on 127.0.0.1: real HTTP, real-shaped JSON.

The real `openai` client talks to it, from the test's event loop or from a
`paperbot notes` subprocess, so it serves from its own thread with its own
event loop (aiohttp.web). `POST /v1/chat/completions` answers like OpenAI's
API: a `chat.completion` object with choices, usage and a fingerprint, or an
`{"error": {...}}` body with the status. Every request body and its
Authorization header are recorded.

Without a script it behaves like a cooperative model: it reads the title
from the prompt and answers valid notes in the language the prompt asks for;
asked a question about a paper (`Question: ...`), it quotes the sentence of
the prompt's paper text that shares the most words with the question, or
answers `known: false` when no sentence shares two of them.

`fake.require_in_prompt("a sentence")` makes every later request whose
messages lack that text fail with HTTP 400 (and be counted in `missing`):
a test proves what reached the prompt by the request succeeding.
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

from tests.support.local_server import ThreadedFake

COMPLETIONS_PATH = "/v1/chat/completions"

EN_NOTES = {
    "headline": "{title}: a reward model that checks its own reasoning",
    "motivation": (
        "Reward models for vision-language models judge answers without looking at the reasoning, "
        "so errors in the chain go unnoticed."
    ),
    "method": (
        "The paper trains a reward model that scores each reasoning step against the image and aggregates the step scores."
    ),
    "results": (
        "The abstract reports better agreement with human preferences than outcome-only reward models on three benchmarks."
    ),
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
class FakeOpenAI(ThreadedFake):
    """Start with `with FakeOpenAI() as fake:`; `fake.base_url` is what OPENAI_BASE_URL should be."""

    thread_name = "fake-openai"

    model_name: str = "fake-notes-1"
    requests: list[Recorded] = field(default_factory=list)
    max_in_flight: int = 0  # the most requests it was answering at once
    required: list[str] = field(default_factory=list)
    missing: int = 0  # requests that lacked a required text
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

    def require_in_prompt(self, text: str) -> "FakeOpenAI":
        with self._lock:
            self.required.append(text)
        return self

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
        prompt = "\n".join(str(m.get("content", "")) for m in body["messages"])
        absent = [text for text in self.required if text not in prompt]
        if absent:
            self.missing += 1
            return _error(400, f"test expectation: the prompt lacks {absent[0][:60]!r}", "invalid_request_error")
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

    def application(self) -> web.Application:
        app = web.Application()
        app.router.add_post(COMPLETIONS_PATH, self._completions)
        return app

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


_STOPWORDS = frozenset(
    "a an the of in on for to and or is are was were what which how does do did this that with by from it its as be".split()
)


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS and len(w) > 2}


def _answer_question(prompt: str, question: str) -> str:
    """Like a careful model: quote the paper sentence that shares the most words with the question."""
    paper = prompt[: prompt.rfind("Question:")]
    pieces = (s.strip() for s in re.split(r"(?<=[.!?])\s+|\n", paper))
    sentences = [s for s in pieces if s and not s.startswith(("#", "Title:", "Authors:"))]
    wanted = _content_words(question)
    scored = sorted(((len(wanted & _content_words(s)), -n, s) for n, s in enumerate(sentences)), reverse=True)
    if not scored or scored[0][0] < 2:
        return json.dumps({"known": False, "answer": "", "quote": ""})
    sentence = scored[0][2].removeprefix("Abstract: ")
    return json.dumps({"known": True, "answer": f"According to the paper: {sentence}", "quote": sentence})


def _cooperative_answer(messages: list[dict[str, Any]]) -> str:
    prompt = "\n".join(str(m.get("content", "")) for m in messages)
    question = re.search(r"^Question: (.+)$", prompt, re.M)
    if question:
        return _answer_question(prompt, question.group(1))
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
