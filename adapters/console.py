"""The console adapter: the whole bot on stdin/stdout, no tokens needed.

It is what `make run` starts, and the test double the behaviour tests drive
errbot-style: `assert "DriveRX" in (await bot.say("/paper search driving")).text`.
Scheduled posts to a console channel are printed and kept in `posted`.

On a terminal it is a comfortable prompt: line editing, history and Tab
completion (the stdlib's readline, when standard input and output are this
process's terminal), answers wrapped to the terminal's width with bold titles
(`adapters.terminal`), and a prompt that log lines and digests never break:
while the prompt waits, anything else printed clears the prompt line first
and redraws it, with what was typed so far, afterwards (the log handler asks
through `bot.logs.set_prompt_guard`). Everything printed is made harmless
first: no escape sequence from a paper title or from input reaches the
terminal. Piped in or out, the text is plain and unwrapped.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import stat
import sys
import threading
from typing import Callable, Iterator, TextIO

from adapters.terminal import columns, harmless, render
from bot.commands import COMMAND_PREFIX, CommandRouter, Registry
from bot.logs import set_prompt_guard
from bot.models import ChannelRef, DeliveryKey, DigestReply, FileReply, NoticeReply, Reply, Subscription, digest_mark
from bot.plugins import AdapterContext, AdapterPlugin

log = logging.getLogger(__name__)

CONSOLE_USER = "console"
CONSOLE_CHANNEL = ChannelRef(adapter="console", channel="console")
PROMPT = "paperbot> "
WELCOME = "paperbot is ready. Type /paper help for commands (Tab completes, arrow keys edit and recall); Ctrl-D quits."
ERASE_LINE = "\r\x1b[K"
BRACKETED_PASTE_OFF = "\x1b[?2004l"  # readline turns it on while it reads; a killed read must not leave it on


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
        # One writer at a time: the event loop's answers and digests, log lines from any thread.
        self._lock = threading.RLock()
        self._prompt_up = False
        self._editor: _Readline | None = None

    # --- the errbot-style test API --------------------------------------------------

    async def say(self, text: str) -> Reply:
        """Handle one line as a user typed it; print and return the reply."""
        reply = await self.handle_line(text)
        self._print(self._render(reply) + "\n")  # a blank line between answers keeps a transcript readable
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

    async def post_digest(self, subscription: Subscription, reply: DigestReply) -> list[str]:
        """Print a digest; returns a message id like the real platforms do."""
        key = digest_mark(reply).key
        self.posted.append((subscription.channel, reply))
        self._print(harmless(f"[digest {key.label} for #{subscription.channel.channel}]") + f"\n{self._render(reply)}\n")
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
        if self._editor is not None and self._prompt_up:  # stopped (SIGTERM) while readline was reading
            self._editor.release_terminal(self.stdout)

    async def _read_loop(self) -> None:
        interactive = self._is_tty()
        if interactive:
            self._print(WELCOME)
            set_prompt_guard(self._aside)
        try:
            async for line in self._lines(interactive):
                if not line.strip():
                    continue
                await self.say(line)
        finally:
            if interactive:
                set_prompt_guard(None)
                self._print("")
            log.info("console input ended")
            if self.on_eof:
                self.on_eof()

    async def _lines(self, interactive: bool):
        """Yield input lines without blocking the event loop and without losing any on cancel."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        editor = self._editor = (
            _Readline.for_terminal(self.stdin, self.stdout, self._prompt_shown, self.router.registry) if interactive else None
        )
        wanted = threading.Event()  # with readline the prompt is drawn by the reader: only once the answer is out

        def pump() -> None:
            # A daemon thread: a blocked read must never keep the process alive after SIGTERM.
            try:
                while True:
                    if editor is not None:
                        wanted.wait()
                        wanted.clear()
                        line = editor.read(PROMPT)
                    else:
                        line = self.stdin.readline() or None
                    with self._lock:
                        self._prompt_up = False
                    loop.call_soon_threadsafe(queue.put_nowait, line)
                    if line is None:
                        return
            except (ValueError, OSError):  # stdin closed under us
                pass
            with contextlib.suppress(RuntimeError):  # a closed loop: we are shutting down anyway
                loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()
        while True:
            if editor is not None:
                wanted.set()
            elif interactive:
                self._print(PROMPT, end="")
                self._prompt_shown()
            line = await queue.get()
            if line is None:
                return
            yield line

    def _is_tty(self) -> bool:
        return _isatty(self.stdin)

    # --- output ---------------------------------------------------------------------

    def _render(self, reply: Reply) -> str:
        if isinstance(reply, FileReply):  # no uploads here: the file's text follows the line saying what it is
            content = harmless(reply.content.decode("utf-8", "replace"))
            return f"{self._render(NoticeReply(reply.lines, reply.title))}\n\n{content}"
        if not _isatty(self.stdout):
            return render(reply)
        try:
            width = os.get_terminal_size(self.stdout.fileno()).columns  # now: the window may have been resized
        except (OSError, ValueError):
            width = shutil.get_terminal_size().columns
        return render(reply, width=width, bold=True)

    def _prompt_shown(self) -> None:
        with self._lock:
            self._prompt_up = True

    @contextlib.contextmanager
    def _aside(self) -> Iterator[None]:
        """Anything printed while the prompt waits: clear the prompt line before, redraw it after."""
        with self._lock:
            if not self._prompt_up:
                yield
                return
            self.stdout.write(ERASE_LINE)
            self.stdout.flush()
            try:
                yield
            finally:
                if self._editor is not None:
                    self._editor.redraw(self.stdout, PROMPT)
                else:
                    self.stdout.write(PROMPT)
                    self.stdout.flush()

    def _print(self, text: str, end: str = "\n") -> None:
        with self._aside():
            self.stdout.write(text + end)
            self.stdout.flush()


def _isatty(stream: object) -> bool:
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


class _Readline:
    """GNU readline behind the prompt: editing, history, Tab completion of /paper and its commands.

    Only when stdin and stdout are this process's terminal (that is when
    `input()` uses readline). Readline is not thread-safe and its reader
    thread is busy in it, so the prompt is redrawn after foreign output
    without calling into it: the prompt and the line as typed are written
    back, and the cursor is moved to where readline has it (`rl_point`, read
    only), so readline's idea of the screen stays true.
    """

    def __init__(self, on_prompt_shown: Callable[[], None], registry: Registry) -> None:
        import readline
        import termios

        self.readline = readline
        self.registry = registry
        self._saved_terminal = termios.tcgetattr(sys.stdin.fileno())
        readline.set_completer_delims(" \t\n")
        readline.set_completer(self._complete)
        readline.parse_and_bind("tab: complete")
        readline.set_pre_input_hook(on_prompt_shown)  # called once the prompt is on screen
        self._point: ctypes.c_int | None = None  # the cursor, as a byte offset into the line
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self._point = ctypes.c_int.in_dll(ctypes.CDLL(readline.__file__), "rl_point")

    @classmethod
    def for_terminal(
        cls, stdin: TextIO, stdout: TextIO, on_prompt_shown: Callable[[], None], registry: Registry
    ) -> "_Readline | None":
        if stdin is not sys.stdin or stdout is not sys.stdout or not (_isatty(stdin) and _isatty(stdout)):
            return None
        try:
            return cls(on_prompt_shown, registry)
        except (ImportError, OSError):  # no readline in this Python, or no terminal after all
            return None

    def read(self, prompt: str) -> str | None:
        """One edited line; None at end of input (Ctrl-D)."""
        try:
            return input(prompt)
        except EOFError:
            return None

    def redraw(self, stdout: TextIO, prompt: str) -> None:
        line = self.readline.get_line_buffer()
        after_cursor = ""
        if self._point is not None:
            after_cursor = line.encode("utf-8")[max(0, self._point.value):].decode("utf-8", "ignore")
        back = columns(after_cursor)
        stdout.write(prompt + line + (f"\x1b[{back}D" if back else ""))  # one write: no half-drawn prompt
        stdout.flush()

    def release_terminal(self, stdout: TextIO) -> None:
        """At stop: a read still waiting leaves the terminal as readline set it; put it back."""
        import termios

        with contextlib.suppress(OSError, ValueError):
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved_terminal)
            stdout.write(BRACKETED_PASTE_OFF)
            stdout.flush()

    def _complete(self, text: str, state: int) -> str | None:
        before = self.readline.get_line_buffer()[: self.readline.get_begidx()].split()
        if not before:
            options = [COMMAND_PREFIX + " "]
        elif before == [COMMAND_PREFIX]:
            options = [name + " " for name in self.registry.names()]
        else:
            options = []
        matches = [option for option in options if option.startswith(text)]
        return matches[state] if state < len(matches) else None


def stdin_is_usable(stream: TextIO) -> bool:
    """A terminal, a pipe or a file; not /dev/null (as under `docker run -d`) or a closed descriptor."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, ValueError, OSError):
        return True  # a test's StringIO and the like
    return os.isatty(fd) or not stat.S_ISCHR(mode)


def _console_input(context: AdapterContext) -> TextIO:
    return context.stdin if context.stdin is not None else sys.stdin


def build(context: AdapterContext) -> ConsoleAdapter:
    return ConsoleAdapter(context.router, stdin=_console_input(context), stdout=context.stdout, on_eof=context.on_eof)


# The `console` entry point: runs when no chat adapter does and standard input can be read.
plugin = AdapterPlugin("adapters.console:build", role="console", usable=lambda context: stdin_is_usable(_console_input(context)))
