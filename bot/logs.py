"""Logging set-up, with secrets scrubbed from every line.

Tokens and webhook URLs live only in the environment; a library that logs a
request URL or a header must still never print one, so every record passes
through a filter that replaces secret values with `***`.
"""

from __future__ import annotations

import logging
import os
import re
import sys

# Environment variables whose values are secrets, by name.
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|API_KEY|HOOK)", re.IGNORECASE)
# Secrets recognisable by their shape, whatever variable (or config) they came from.
SECRET_SHAPES = (
    (re.compile(r"(/api(?:/v\d+)?/webhooks/\d+/)[\w.-]+"), r"\1***"),  # Discord webhook token
    (re.compile(r"(/services/T\w+/B\w+/)\w+"), r"\1***"),  # Slack incoming webhook secret
    (re.compile(r"\b(xox[abposr]|xapp)-[\w-]+"), r"\1-***"),  # Slack tokens
)
MIN_SECRET_LENGTH = 6  # shorter values would redact ordinary words


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


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    handler.addFilter(RedactSecrets(secret_values()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Client libraries are chatty at INFO (every HTTP request); their warnings still show.
    for noisy in ("aiosqlite", "urllib3", "httpx", "httpx2", "httpcore", "asyncio", "arxiv", "openai"):
        logging.getLogger(noisy).setLevel(max(logging.getLogger().level, logging.WARNING))
