"""The console adapter: the whole bot on stdin/stdout, no tokens needed.

It is what `make run` starts, and the test double the behaviour tests drive
errbot-style: `assert "DriveRX" in (await bot.say("/paper search driving")).text`.
Scheduled posts to a console channel are printed and kept in `posted`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from typing import Callable, TextIO

from bot.commands import COMMAND_PREFIX, CommandRouter
from bot.models import ChannelRef, DeliveryKey, NoticeReply, Reply, Subscription

log = logging.getLogger(__name__)

CONSOLE_USER = "console"
CONSOLE_CHANNEL = ChannelRef(adapter="console", channel="console")
PROMPT = "paperbot> "
WELCOME = "paperbot is ready. Type /paper help for commands; Ctrl-D quits."


class ConsoleAdapter:
    name = "console"

    def __init__(
        self,
        router: CommandRouter,
        *,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        on_eof: Callable[[], None] | None = None,
        is_admin: bool = True,
    ) -> None:
        self.router = router
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self.on_eof = on_eof
        self.is_admin = is_admin  # whoever holds the terminal owns the bot
        self.posted: list[tuple[ChannelRef, Reply]] = []
        self._reader: asyncio.Task[None] | None = None

    # --- the errbot-style test API --------------------------------------------------

    async def say(self, text: str) -> Reply:
        """Handle one line as a user typed it; print and return the reply."""
        reply = await self.handle_line(text)
        self._print(reply.text + "\n")  # a blank line between answers keeps a transcript readable
        return reply

    async def handle_line(self, line: str) -> Reply:
        text = line.strip()
        first = text.split(maxsplit=1)[0].lower() if text else ""
        if first != COMMAND_PREFIX:
            return NoticeReply((f"Commands start with {COMMAND_PREFIX}, e.g. /paper latest. Type /paper help for more.",))
        return await self.router.handle_text(
            text, user=CONSOLE_USER, channel=CONSOLE_CHANNEL, is_admin=self.is_admin
        )

    # --- posting (digests) ----------------------------------------------------------

    async def post_digest(self, subscription: Subscription, reply: Reply, key: DeliveryKey) -> list[str]:
        """Print a digest; returns a message id like the real platforms do."""
        self.posted.append((subscription.channel, reply))
        self._print(f"[digest {key.label} for #{subscription.channel.channel}]\n{reply.text}\n")
        return [f"console-{len(self.posted)}"]

    async def find_digest(self, subscription: Subscription, key: DeliveryKey) -> list[str] | None:
        # Printed text cannot be read back: after a crash the scheduler resends once.
        return None

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_loop(), name="console-reader")

    async def stop(self) -> None:
        if self._reader and not self._reader.done():
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass

    async def _read_loop(self) -> None:
        interactive = self._is_tty()
        if interactive:
            self._print(WELCOME)
        try:
            async for line in self._lines(interactive):
                if not line.strip():
                    continue
                await self.say(line)
        finally:
            if interactive:
                self._print("")
            log.info("console input ended")
            if self.on_eof:
                self.on_eof()

    async def _lines(self, interactive: bool):
        """Yield input lines without blocking the event loop and without losing any on cancel."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def pump() -> None:
            # A daemon thread: a blocked readline must never keep the process alive after SIGTERM.
            try:
                for line in iter(self.stdin.readline, ""):
                    loop.call_soon_threadsafe(queue.put_nowait, line)
            except (ValueError, OSError):  # stdin closed under us
                pass
            finally:
                try:
                    loop.call_soon_threadsafe(queue.put_nowait, None)
                except RuntimeError:  # loop already closed: we are shutting down anyway
                    pass

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()
        while True:
            if interactive:
                self._print(PROMPT, end="")
            line = await queue.get()
            if line is None:
                return
            yield line

    def _is_tty(self) -> bool:
        try:
            return os.isatty(self.stdin.fileno())
        except (AttributeError, ValueError, OSError):
            return False

    def _print(self, text: str, end: str = "\n") -> None:
        self.stdout.write(text + end)
        self.stdout.flush()
