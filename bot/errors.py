"""Errors that carry a message meant for the person who asked.

The command layer turns a `UserError` into an `ErrorReply`, the CLI prints it
and exits with status 2; anything else is a bug and is logged as one.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a user: a clear message, an optional hint, nothing changed."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class DeliveryError(Exception):
    """A post could not be delivered. `permanent` means retrying will not help until someone
    fixes something (a deleted webhook, a revoked token, a bot removed from the channel)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class StoreError(UserError):
    """The store could not do what was asked for a reason its owner can fix: a full disk,
    a read-only or missing location, a file that is not a database, another process
    holding the write lock. `store.errors` builds it from SQLite's error; it is a
    `UserError`, so the CLI prints the sentence and exits 2 and a chat command answers it."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path
