"""The one error every importer raises for input it refuses.

An import either succeeds or leaves the store untouched and says which file
(and, where it helps, which line) is wrong. It is a `UserError`, so the CLI
prints it and exits with status 2 and chat commands reply with it, without
any importer-specific handling.
"""

from __future__ import annotations

from bot.errors import UserError


class IngestError(UserError):
    """A file that cannot be imported: `str()` reads `papers.md:42: <message>`."""

    def __init__(
        self, filename: str, message: str, line: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint)
        self.filename = filename
        self.line = line

    @property
    def location(self) -> str:
        return f"{self.filename}:{self.line}" if self.line is not None else self.filename

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if not self.hint:
            return text
        return f"{text} {self.hint}" if text.endswith((".", "!", "?")) else f"{text}. {self.hint}"
