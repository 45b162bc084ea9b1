"""Every error paperbot raises on purpose, in one hierarchy, so callers catch a base.

- `PaperbotError`: the base; `message` is a sentence meant for people.
- `UserError`: bad input or set-up that its owner can fix (a clear message, an
  optional `hint`, nothing changed). The command layer turns it into an
  `ErrorReply`; the CLI prints it and exits with status 2. Its kinds:
  `ConfigError` (the config file or the environment), `IngestError` (a file
  an importer refuses), `StoreError` (the database), `QuerySyntaxError` (an
  arXiv query).
- `RemoteError`: a remote service failed (arXiv, the notes server, a chat
  platform); retrying later may help. `DeliveryError` is a post that could not
  be delivered.
- `UnreadableText`: stored full text that cannot be decoded; its readers fall
  back to the abstract.

Anything else that escapes is a bug and is logged as one.
"""

from __future__ import annotations


class PaperbotError(Exception):
    """Base of paperbot's own errors: `message` says what went wrong, for a person."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UserError(PaperbotError):
    """Bad input from a user: a clear message, an optional hint, nothing changed."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(UserError):
    """A config problem, phrased for the person who wrote the file or set the variable:
    `str()` reads `<source>: <key>: <message>` (`environment: SLACK_BOT_TOKEN: ...`)."""

    def __init__(self, source: str, key: str | None, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.source = source
        self.key = key

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}: " if self.key else f"{self.source}: "
        return where + super().__str__()


class IngestError(UserError):
    """A file that cannot be imported: `str()` reads `papers.md:42: <message>`.

    An import either succeeds or leaves the store untouched and says which file
    (and, where it helps, which line) is wrong.
    """

    def __init__(self, filename: str, message: str, line: int | None = None, hint: str | None = None) -> None:
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


class StoreError(UserError):
    """The store could not do what was asked for a reason its owner can fix: a full disk,
    a read-only or missing location, a file that is not a database, another process
    holding the write lock. `store.errors` builds it from SQLite's error."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


class QuerySyntaxError(UserError, ValueError):
    """A query arXiv would reject or misread; `position` is the 0-based offset of the problem.

    A ValueError too, so a pydantic validator that lets it through reports it as bad input.
    """

    def __init__(self, message: str, position: int, query: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.query = query

    @property
    def column(self) -> int:
        return self.position + 1

    def pointer(self) -> str:
        """The query with a caret under the problem, for multi-line error output."""
        line = " ".join(self.query.split("\n"))
        return f"{line}\n{' ' * self.position}^"


class RemoteError(PaperbotError):
    """A remote service failed or answered something unusable; trying again later may help."""


class DeliveryError(RemoteError):
    """A post could not be delivered. `permanent` means retrying will not help until someone
    fixes something (a deleted webhook, a revoked token, a bot removed from the channel)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class UnreadableText(PaperbotError):
    """Stored full text that cannot be decoded (a damaged row, a newer format)."""
