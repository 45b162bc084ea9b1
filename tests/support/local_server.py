"""The fakes' one way to serve an aiohttp app on 127.0.0.1.

Why this exists: every fake of a remote service starts a server the same way.
Slack's, Discord's and the webhooks' fakes serve from the test's event loop
(the `LoopFake` base: `async with Fake() as fake:`).
The fake OpenAI server and the fake arXiv web server also serve `paperbot`
subprocesses, so each runs its own event loop in a daemon thread (the
`ThreadedFake` base: `with Fake() as fake:`). The start and stop of both live
here once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Self

from aiohttp import web


async def serve_locally(app: web.Application, port: int = 0, *, shutdown_timeout: float = 60.0) -> tuple[web.AppRunner, int]:
    """Serve `app` on 127.0.0.1:`port` (0: a free one) until the runner's `cleanup()`; returns the runner and the port.

    No access log: a fake logging the URLs it is sent (webhook secrets are in them)
    would hide a bot that does."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)  # a closed fake may come back on its old port
    await site.start()
    return runner, runner.addresses[0][1]


class LoopFake:
    """A fake served from the test's event loop on 127.0.0.1:`self.port` (`self.url`).

    `async with Fake() as fake:` starts and closes it (or `await fake.start()`,
    `await fake.close()`). A subclass builds its app in `application()`, and
    extends `close()` to end what a server shutdown would wait for."""

    port = 0
    _runner: web.AppRunner | None = None

    def application(self) -> web.Application:
        raise NotImplementedError

    async def start(self, port: int = 0) -> Self:
        """Serve on `port` (0: a free one; a test may bring a closed fake back on its old port)."""
        self._runner, self.port = await serve_locally(self.application(), port)
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class ThreadedFake:
    """A fake served from a thread of its own while its `with` block runs, on `self.port`.

    A subclass names its thread (`thread_name`) and builds its app in `application()`."""

    thread_name = "fake"
    port = 0

    def application(self) -> web.Application:
        raise NotImplementedError

    def __enter__(self) -> Self:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            self._runner, self.port = await serve_locally(self.application(), shutdown_timeout=0.1)
            started.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError(f"{self.thread_name} did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        try:
            future.result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
