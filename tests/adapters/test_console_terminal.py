"""The console on a real terminal: editing, history, wrapping, bold titles, a prompt log lines never break.

The terminal cases run the real `paperbot run` on a pseudo-terminal
(`pty.openpty`, a window size set with TIOCSWINSZ) and type into it as a user
would, arrow keys and Tab included; arXiv is the fake on 127.0.0.1. The
rendering rules (`adapters.terminal`) are checked directly, and the console's
output is checked for escape sequences coming from input and from stored titles.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.console import ConsoleAdapter
from adapters.terminal import BOLD, PLAIN, columns, harmless, render, wrap_line
from bot.app import Runtime, build_service, open_store
from bot.commands import CommandRouter
from bot.config import FileConfig
from bot.models import ChannelRef, DeliveryKey, DigestMark, PaperCard, PaperListReply, Subscription, Topic
from tests.support import OFFLINE_CONFIG, ROOT, console_bot, make_paper
from tests.support.fake_arxiv import FakeArxiv, FakePaper

ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """`paperbot run` on a pseudo-terminal of `width` columns; the test types and reads the screen bytes."""

    def __init__(
        self, tmp_path: Path, *, width: int = 60, config: Path = OFFLINE_CONFIG, env: dict[str, str] | None = None
    ) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
        full_env = {
            **os.environ, "PAPERBOT_DB": str(tmp_path / "paperbot.db"), "PAPERBOT_CONFIG": str(config), "TERM": "xterm",
            **(env or {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT, env=full_env,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    def read_until(self, wanted: bytes | re.Pattern, *, after: int = 0, timeout: float = 60) -> int:
        """Read until `wanted` shows up after offset `after`; returns where it ends (a deadlock guard, not a timing check)."""
        deadline = time.monotonic() + timeout
        while True:
            found = wanted.search(self.output, after) if isinstance(wanted, re.Pattern) else None
            if found is not None:
                return found.end()
            if isinstance(wanted, bytes) and wanted in self.output[after:]:
                return self.output.index(wanted, after) + len(wanted)
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {wanted!r}; the screen ended with {self.output[-1500:]!r}")
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the process closed the terminal
                    pass

    def ready(self) -> None:
        """Until start-up has logged its last line and the prompt waits."""
        started = self.read_until(b"paperbot running with console")
        self.read_until(b"paperbot> ", after=started)

    def type(self, keys: bytes) -> int:
        """Type `keys`; returns the screen offset before they were typed."""
        mark = len(self.output)
        os.write(self.master, keys)
        return mark

    def answer(self, keys: bytes) -> str:
        """Type a line and read the answer, up to the prompt after it (keys typed earlier would be typed ahead)."""
        mark = self.type(keys)
        end = self.read_until(b"\r\n\r\npaperbot> ", after=mark)
        return self.output[mark:end].decode("utf-8", "replace")

    def quit(self) -> int:
        self.type(b"\x04")  # Ctrl-D
        self.read_until(b"stopped cleanly")
        code = self.process.wait(timeout=60)
        os.close(self.master)
        return code

    def text(self, start: int = 0) -> str:
        return self.output[start:].decode("utf-8", "replace")


@pytest.fixture
def terminal(tmp_path):
    opened: list[Terminal] = []

    def start(**kwargs) -> Terminal:
        opened.append(Terminal(tmp_path, **kwargs))
        return opened[-1]

    yield start
    for screen in opened:
        if screen.process.poll() is None:
            screen.process.kill()
            screen.process.wait()


# --- a real terminal -------------------------------------------------------------------------


@pytest.mark.subprocess
def test_arrow_keys_edit_the_line_up_recalls_it_and_tab_completes(terminal):
    screen = terminal()
    screen.ready()
    edited = screen.answer(b"/paper search drivng\x1b[D\x1b[Di\r")  # two steps left, insert the missing "i"
    assert "Search results for “driving”" in edited and "DriveRX" in edited
    recalled = screen.answer(b"\x1b[A\r")  # Up: the previous line again
    assert "Search results for “driving”" in recalled
    completed = screen.answer(b"/paper top\t\r")  # Tab completes the command name
    assert "Topics (1)" in completed
    assert screen.quit() == 0


@pytest.mark.subprocess
def test_answers_wrap_to_the_window_with_hanging_indents_and_bold_titles(terminal):
    screen = terminal(width=50)
    screen.ready()
    answer = screen.answer(b"/paper latest 3\r")
    lines = ESCAPES.sub("", answer).split("\r\n")
    assert "Latest papers" in lines, repr(answer)
    lines = lines[lines.index("Latest papers") : -2]  # after the typed line's echo, before the next prompt
    assert lines and max(columns(line) for line in lines if "https://" not in line) <= 50  # a URL is never cut
    # DriveRX's title and TLDR need more than one line; their continuations hang under the text after "1. ".
    first = 2
    assert (
        lines[first].startswith("1. DriveRX") and lines[first + 1].startswith("   ") and not lines[first + 1].startswith("    ")
    )
    tldr = next(i for i, line in enumerate(lines) if line.startswith("   TLDR: DriveRX"))
    assert lines[tldr + 1].startswith("   ") and lines[tldr + 1].strip()
    assert f"{BOLD}Latest papers{PLAIN}" in answer and f"1. {BOLD}DriveRX:" in answer
    assert screen.quit() == 0


@pytest.mark.subprocess
def test_a_log_line_while_typing_keeps_the_prompt_and_the_typed_text_and_no_bar_is_drawn(terminal, tmp_path):
    config = tmp_path / "fetching.toml"
    config.write_text(
        OFFLINE_CONFIG.read_text(encoding="utf-8").replace("enabled = false", "enabled = true\ndelay_seconds = 0\nretries = 0")
        + '\n[[topics]]\nname = "reward-vlm"\nquery = \'abs:"reward model"\'\n',
        encoding="utf-8",
    )
    yesterday = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
    with FakeArxiv([FakePaper("2506.00001", title="A freshly fetched paper on reward models", published=yesterday)]) as arxiv:
        gate = arxiv.hold()  # the start-up fetch waits until the user is half-way through a line
        screen = terminal(config=config, env={"ARXIV_API_URL": arxiv.url})
        screen.ready()
        deadline = time.monotonic() + 60
        while not arxiv.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        mark = screen.type(b"/paper search frshly\x1b[D\x1b[D\x1b[D\x1b[D")  # the cursor goes back before "shly"
        screen.read_until(b"frshly\x08\x08\x08\x08", after=mark)
        gate.set()
        # The prompt line is cleared, the log line gets its own line, then the prompt and the typed text come
        # back with the cursor where the user left it (4 columns left of the end).
        screen.read_until(re.compile(
            rb"paperbot> /paper search frshly\x08{4}\r\x1b\[K\d{4}-\d\d-\d\dT[^\r\n]* 1 papers from arXiv[^\r\n]*"
            rb"\r\npaperbot> /paper search frshly\x1b\[4D"
        ))
        assert "A freshly fetched paper" in screen.answer(b"e\r")  # typed at the cursor: "freshly"
        shown = screen.text()
        assert screen.quit() == 0
    assert "━" not in shown and "\x1b[?25l" not in shown  # no progress bar (rich hides the cursor for one)
    assert "Running job" not in shown and "apscheduler" not in shown


def test_piped_output_is_plain_and_unwrapped(paperbot, tmp_path):
    result = paperbot("run", db=tmp_path / "p.db", input_text="/paper latest 5\n")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "1. DriveRX: A Vision-Language Reasoning Model for Cross-Task Autonomous Driving\n" in result.stdout


# --- nothing reaches the terminal raw ----------------------------------------------------------

HOSTILE = "Evil \x1b]0;owned\x07title \x1b[2J\x1b[31mred\x9b31m \x00nul\x7f\r over"


def test_harmless_replaces_every_control_but_the_line_break():
    assert harmless(HOSTILE) == "Evil ?]0;owned?title ?[2J?[31mred?31m ?nul?? over"
    assert harmless("a\tb\nc") == "a b\nc"
    assert harmless("自动驾驶 — ok") == "自动驾驶 — ok"


async def test_escape_sequences_in_stored_titles_and_in_input_are_never_printed_raw(tmp_path):
    out = io.StringIO()
    async with open_store(Runtime(db_path=str(tmp_path / "p.db"), config=FileConfig())) as store:
        await store.papers.upsert_papers([make_paper("2506.00077", ("hostile",), title=HOSTILE)])
        console = ConsoleAdapter(CommandRouter(build_service(store.papers, FileConfig())), stdout=out)
        # The store strips some controls on write (not C1's one-byte CSI, nor what older versions stored).
        await console.say("/paper show 2506.00077")
        await console.say("/paper lates\x1b[2J\x1b]0;owned\x07")
        await console.say("hello \x1b[31m")
    printed = out.getvalue()
    assert "Evil " in printed and "Unknown command 'lates?[2J?]0;owned?'" in printed
    assert not any(ch in printed for ch in "\x1b\x07\x9b\x00\x7f\r")


# --- the rendering rules --------------------------------------------------------------------


def card(title: str, tldr: str = "") -> PaperCard:
    return PaperCard("2505.20665", title, "https://arxiv.org/abs/2505.20665", "2025-05", ("Ada Lovelace",), tldr=tldr)


def test_wrapping_counts_columns_breaks_chinese_between_characters_and_keeps_urls_whole():
    reply = PaperListReply(
        "Latest papers",
        (card("A " * 30 + "title", "驾驶模型把自动驾驶当作一系列相互关联的决策来推理，而不是一个端到端的映射。" * 2),),
    )
    lines = render(reply, width=30).split("\n")
    assert all(columns(line) <= 30 for line in lines if "https://" not in line)
    tldr = lines[next(i for i, line in enumerate(lines) if line.startswith("   TLDR: ")) :]
    assert len(tldr) > 4 and all(line.startswith("   ") and line[3] != " " for line in tldr)
    assert not any(line.lstrip().startswith(("，", "。")) for line in lines)  # never before closing punctuation
    assert "   https://arxiv.org/abs/2505.20665" in lines
    assert wrap_line("   " + "x" * 50, 20) == ["   " + "x" * 50]  # a word longer than the line keeps its line


def test_plain_rendering_is_the_reply_text():
    reply = PaperListReply("Latest papers", (card("DriveRX " * 20),))
    assert render(reply) == reply.text
    assert BOLD not in render(reply, width=40) and BOLD in render(reply, width=40, bold=True)


async def test_a_digest_printed_while_the_console_waits_is_harmless(tmp_path):
    async with console_bot(tmp_path / "p.db") as console:
        mark = DigestMark(DeliveryKey(1, "2025-W23"), Topic("t"), 1)
        reply = PaperListReply("Digest \x1b[2J", (card("T\x1b[31mitle"),), digest=mark)
        subscription = Subscription(1, ChannelRef("console", "con\x1bsole"), "t", "mon 09:00", "UTC", "en")
        await console.post_digest(subscription, reply)
        assert "\x1b" not in console.stdout.getvalue()
