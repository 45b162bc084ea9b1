"""The `sqlite` entry point of `paperbot.stores` (pyproject.toml): what `--db` opens when it is a path.

A location is a file path, `:memory:`, or a `sqlite://` URL in SQLAlchemy's
spelling: `sqlite:///relative/path.db`, `sqlite:////absolute/path.db`. Only the
default data directory (`data/`) is created when missing; elsewhere a missing
directory is a `StoreError` naming it, as a wrong `--db` usually is a typo.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.ports import Clock
from bot.settings import DEFAULT_DB_PATH
from store.sqlite import SqliteStore

if TYPE_CHECKING:  # the backup (and its tempfile, shutil, bz2, lzma) only for `paperbot backup`, not for every lookup
    from store.sqlite.backup import BackupReport

URL_PREFIX = "sqlite://"


def sqlite_path(location: str) -> str:
    """The file path a location names (`sqlite:///x.db` -> `x.db`); a bare path as it is."""
    if not location.lower().startswith(URL_PREFIX):
        return location
    rest = location[len(URL_PREFIX):]
    return rest[1:] if rest.startswith("/") else rest


class SqlitePlugin:
    async def open(self, location: str, *, clock: Clock, read_only: bool = False, serving: bool = False) -> SqliteStore:
        path = sqlite_path(location)
        create_parent = Path(path).parent.resolve() == Path(DEFAULT_DB_PATH).parent.resolve()
        return await SqliteStore.open(path, clock=clock, read_only=read_only, create_parent=create_parent, serving=serving)

    def exists(self, location: str) -> bool:
        return Path(sqlite_path(location)).exists()

    def backup(self, location: str, target: str) -> BackupReport:
        from store.sqlite.backup import backup_store

        return backup_store(sqlite_path(location), target)


plugin = SqlitePlugin()
