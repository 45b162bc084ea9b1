"""Logging set-up: secrets scrubbed from every line, UTC timestamps, and room for a console prompt.

Tokens and webhook URLs live only in the environment; a library that logs a
request URL, a header or a whole payload (discord.py and slack_sdk do at
DEBUG) must still never print one, so every record passes through a filter
that replaces secret values and secret-shaped text with `***`.

Times are UTC in ISO 8601 with the zone shown (`2025-06-08T09:30:00.123Z`),
so lines from hosts in different zones, or from either side of a DST change,
sort and compare as they are.

The console adapter shows a prompt on the same terminal the log goes to; it
registers a `prompt guard` here, and every log line is written inside it (the
prompt line is cleared first and redrawn after), so a log line never breaks
the line the user is typing. Logs may go to a file instead (`log_to_file`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from pathlib import Path
from typing import Callable, ContextManager

from bot.errors import UserError
from bot.utc import iso_millis

# Environment variables whose values are secrets, by name.
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY|HOOK)", re.IGNORECASE)
# Secrets recognisable by their shape, whatever variable (or config) they came from.
SECRET_SHAPES = (
    (re.compile(r"(/api(?:/v\d+)?/webhooks/\d+/)[\w.-]+"), r"\1***"),  # Discord webhook and interaction followup token
    (re.compile(r"(/interactions/\d+/)[\w.-]+"), r"\1***"),  # Discord interaction callback token
    (re.compile(r"(/services/T\w+/B\w+/)\w+"), r"\1***"),  # Slack incoming webhook secret
    (re.compile(r"(/commands/T\w+/\d+/)[\w-]+"), r"\1***"),  # Slack response_url secret
    (re.compile(r"\b(xox[abposr]|xapp)-[\w-]+"), r"\1-***"),  # Slack tokens
    # A payload dumped whole (a dict, JSON or a form body): interaction tokens and response_urls.
    (re.compile(r"""(\b(?:(?:\w+_)?token|response_url)['"]?\s*[:=]\s*['"]?)[^'"\s,&}]+"""), r"\1***"),
)
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words

LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Client libraries are chatty at INFO (every HTTP request, every scheduler job); their warnings still show.
NOISY_LOGGERS = ("aiosqlite", "urllib3", "httpx", "httpx2", "httpcore", "asyncio", "arxiv", "openai", "apscheduler")


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    values = {value for name, value in env.items() if SECRET_NAME.search(name) and len(value) >= MIN_SECRET_LENGTH}
    return sorted(values, key=len, reverse=True)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        for shape, replacement in SECRET_SHAPES:
            text = shape.sub(replacement, text)
        return text


class UtcFormatter(logging.Formatter):
    """`2025-06-08T09:30:00.123Z INFO name: message`, whatever the host's time zone."""

    def __init__(self) -> None:
        super().__init__(LINE_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return iso_millis(record.created)


class OneLineErrors(logging.Filter):
    """Turns a library's traceback for an expected failure (the network is down) into one line.

    A library that retries a connection logs each failed attempt with its
    traceback; for the exception types given, the record keeps its message,
    gains the error's type and text, loses the traceback and is logged at
    `level`. Any other exception keeps its traceback: that one is a bug.
    """

    def __init__(self, kinds: tuple[type[BaseException], ...], level: int = logging.WARNING) -> None:
        super().__init__()
        self.kinds = kinds
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None or not isinstance(error, self.kinds):
            return True
        message = record.getMessage()
        detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if str(error) and str(error) in message:
            detail = type(error).__name__
        record.msg, record.args = f"{message} [{detail}]", None
        record.exc_info, record.exc_text = None, None
        if record.levelno > self.level:
            record.levelno, record.levelname = self.level, logging.getLevelName(self.level)
        return True


def one_line_errors(logger_name: str, kinds: tuple[type[BaseException], ...]) -> None:
    """Install `OneLineErrors` on a library's logger (once; it applies to records logged there)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, OneLineErrors) and f.kinds == kinds for f in logger.filters):
        logger.addFilter(OneLineErrors(kinds))


# --- the console prompt --------------------------------------------------------------------------

PromptGuard = Callable[[], ContextManager[None]]
_prompt_guard: PromptGuard | None = None


def set_prompt_guard(guard: PromptGuard | None) -> None:
    """The console registers how to step its prompt aside (None when the prompt is gone)."""
    global _prompt_guard
    _prompt_guard = guard


class _TerminalHandler(logging.StreamHandler):
    """Writes to stderr; on a terminal with a console prompt, inside the prompt's guard."""

    def emit(self, record: logging.LogRecord) -> None:
        guard = _prompt_guard
        if guard is None or not _is_terminal(self.stream):
            super().emit(record)
            return
        with guard():
            super().emit(record)


def _is_terminal(stream: object) -> bool:
    try:
        return stream.isatty()  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


# --- set-up --------------------------------------------------------------------------------------


def _configure(handler: logging.Handler) -> logging.Handler:
    handler.setFormatter(UtcFormatter())
    handler.addFilter(RedactSecrets(secret_values()))
    return handler


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.handlers[:] = [_configure(_TerminalHandler(sys.stderr))]
    root.setLevel(level)
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.getLogger().level, logging.WARNING))


def log_to_file(path: str, source: str) -> None:
    """Send every log line to `path` (appended) instead of stderr; `source` names where the path came from."""
    target = Path(path).expanduser()
    try:
        handler = logging.FileHandler(target, encoding="utf-8")
    except OSError as error:
        raise UserError(
            f"cannot write the log file {target}: {error.strerror or error}",
            f"Fix {source}, or create the directory and make it writable.",
        ) from None
    root = logging.getLogger()
    for old in root.handlers:
        with contextlib.suppress(Exception):
            old.flush()
    root.handlers[:] = [_configure(handler)]
