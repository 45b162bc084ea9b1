"""An aiohttp server on 127.0.0.1 in a thread of its own, for the fakes a subprocess must reach too.

Why this exists: the fake OpenAI server and the fake arXiv web server both
serve requests from a test's event loop and from `paperbot` subprocesses, so
each runs its own event loop in a daemon thread; the start and stop of that
live here once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Callable

from aiohttp import web


class ThreadedServer:
    """`start(add_routes)` serves on a free port (`self.port`) until `stop()`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0

    def start(self, add_routes: Callable[[web.Application], None]) -> None:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        async def serve() -> None:
            app = web.Application()
            add_routes(app)
            self._runner = web.AppRunner(app, shutdown_timeout=0.1)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = self._runner.addresses[0][1]
            started.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        try:
            future.result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
