"""Adapters and stores, found through entry points, so the core imports neither.

Why this exists: dependencies point one way (`adapters/ → bot/ ← store/`), yet
`paperbot run` needs concrete adapters and every command a concrete store. The
core learns what is installed from the package metadata, where pyproject.toml
declares paperbot's own (another package can declare more the same way):

- `paperbot.adapters`: each names an `AdapterPlugin`, a light object (loading
  it imports no platform SDK) that says when its adapter runs and builds it.
  Roles: `chat` runs when its token variable is set; `console` runs when no
  chat adapter does and standard input is usable; `webhook` is one platform's
  poster behind the one `webhook` adapter (`bot.webhooks`).
- `paperbot.stores`, named by the URL scheme of `--db`: each names a
  `StorePlugin`. A bare path (or `:memory:`) means `sqlite`.

Loading is lazy: a lookup loads only its store's plugin; `run` loads the
adapter plugins, and a plugin imports its SDK only when it builds its adapter.
A store's scheme is looked up in paperbot's own declarations first, read from
its installed `entry_points.txt` (`own_entry_points`); only a scheme paperbot
does not declare scans every installed distribution (`importlib.metadata`,
whose import and scan cost a lookup about a tenth of its run).
An SDK that is not installed is a `ConfigError` naming the extra that brings
it (`pip install 'paperbot[slack]'`), see `needs_extra`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Iterator, Literal, Mapping, NamedTuple, Protocol, TextIO
from urllib.parse import urlsplit, urlunsplit

from bot.errors import ConfigError

if TYPE_CHECKING:  # the router's import graph is the whole command layer; a lookup's CLI needs none of it here
    from bot.commands import CommandRouter
    from bot.config import FileConfig
    from bot.ports import Clock, PaperStore, Store

ADAPTERS = "paperbot.adapters"
STORES = "paperbot.stores"
DEFAULT_SCHEME = "sqlite"
# paperbot's own packages: a module of these that is missing is a broken install or a bug, not a missing extra.
OWN_PACKAGES = frozenset({"bot", "adapters", "store"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PASSWORD_PARAM = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)

Sleep = Callable[[float], Awaitable[None]]
Role = Literal["chat", "console", "webhook"]


class EntryPoint(Protocol):
    """What a plugin is found by: `importlib.metadata.EntryPoint`, or paperbot's own `DeclaredEntryPoint`."""

    @property
    def name(self) -> str: ...

    @property
    def value(self) -> str: ...

    def load(self) -> Any: ...


EntryPoints = Callable[[str], Iterable[EntryPoint]]


def installed(group: str) -> list[EntryPoint]:
    """The entry points of `group` in every installed distribution's metadata."""
    from importlib import metadata

    return list(metadata.entry_points(group=group))


class DeclaredEntryPoint(NamedTuple):
    """One line of paperbot's own `entry_points.txt`: `name = module:attribute`."""

    name: str
    value: str

    def load(self) -> Any:
        module, _, attribute = self.value.partition(":")
        found: Any = importlib.import_module(module.strip())
        for part in filter(None, attribute.strip().split(".")):
            found = getattr(found, part)
        return found


@functools.cache
def own_entry_points(group: str) -> dict[str, DeclaredEntryPoint]:
    """paperbot's own entry points of `group`, read from its installed metadata (the first
    `paperbot-*.dist-info` on `sys.path`, where `importlib.metadata` finds it); {} when not installed."""
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        info = next((n for n in names if n.endswith(".dist-info") and n.partition("-")[0].lower() == "paperbot"), None)
        if info is not None:
            return _declared(os.path.join(folder or ".", info, "entry_points.txt"), group)
    return {}


def _declared(path: str, group: str) -> dict[str, DeclaredEntryPoint]:
    found: dict[str, DeclaredEntryPoint] = {}
    section = None
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except OSError:
        return found
    for line in (line.strip() for line in lines):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif section == group and "=" in line and not line.startswith(("#", ";")):
            name, _, value = line.partition("=")
            found[name.strip().lower()] = DeclaredEntryPoint(name.strip(), value.strip())
    return found


@dataclass(frozen=True)
class AdapterContext:
    """Everything an adapter plugin may build its adapter from; built once by the composition."""

    router: CommandRouter
    papers: PaperStore
    config: FileConfig
    env: Mapping[str, str]
    sleep: Sleep  # waits between retries and restarts; tests pass one that records instead
    stdin: TextIO | None = None
    stdout: TextIO | None = None
    on_eof: Callable[[], None] | None = None  # the console's input ended: stop the bot
    on_gave_up: Callable[[str, str], None] | None = None  # (adapter, problem): it cannot go on, stop with status 1


def _always(context: AdapterContext) -> bool:
    return True


@dataclass(frozen=True)
class AdapterPlugin:
    """What a `paperbot.adapters` entry point names; its name is the adapter's (`slack`, `slack-webhook`).

    `factory`: `module:function`, the function that builds the adapter from an
    `AdapterContext`; its module (and so the SDK) is imported only by `load`.
    `token` (role `chat`): the environment variable that turns it on. `extra`:
    the pip extra its SDK comes in. `usable` (role `console`): whether it can
    run here. `claims` (role `webhook`): the webhook URLs that are its
    platform's, known without loading it; None takes every URL no other
    webhook plugin claims.
    """

    factory: str
    role: Role = "chat"
    token: str | None = None
    extra: str | None = None
    usable: Callable[[AdapterContext], bool] = _always
    claims: Callable[[str], bool] | None = None

    def wanted(self, env: Mapping[str, str]) -> bool:
        """A chat adapter runs when its token variable is set."""
        return self.role == "chat" and bool(self.token) and bool(env.get(self.token or ""))

    def load(self, name: str) -> Callable[[AdapterContext], Any]:
        """The factory, its module imported now; an SDK not installed is a `ConfigError` naming the extra,
        against the token variable that asked for it (or, for the others, the installation)."""
        module, _, function = self.factory.partition(":")
        source, key = ("environment", self.token) if self.role == "chat" else ("installation", name)
        with needs_extra(self.extra, f"the {name} adapter", source, key):
            return getattr(importlib.import_module(module), function)


class BackupReport(Protocol):
    def summary(self) -> str: ...


class StorePlugin(Protocol):
    """What a `paperbot.stores` entry point names. `location` is what `--db` said (a path or a URL)."""

    async def open(self, location: str, *, clock: Clock, read_only: bool = False, serving: bool = False) -> Store:
        """The opened store; a failure the user can fix is a `StoreError` naming the location (never a password)."""
        ...

    def exists(self, location: str) -> bool:
        """False only when the store surely does not exist yet (a lookup then answers as the empty store)."""
        ...

    def backup(self, location: str, target: str) -> BackupReport:
        """A consistent copy at `target`, taken while the bot may write (blocking: run it in a thread)."""
        ...


def store_scheme(location: str) -> str:
    """`postgresql` for `postgresql://…`; `sqlite` for a bare path."""
    match = _SCHEME.match(location.strip())
    return match.group(1).lower() if match else DEFAULT_SCHEME


def shown_location(location: str) -> str:
    """The location for logs and messages: a URL's password is never shown."""
    if not _SCHEME.match(location.strip()):
        return location
    parts = urlsplit(location.strip())
    # libpq also takes the password as a query parameter (`?password=...`).
    query = _PASSWORD_PARAM.sub(r"\1***", parts.query)
    if parts.password is None and query == parts.query:
        return location
    netloc = parts.netloc
    if parts.password is not None:  # the host part as written: none for a socket URL, a port that may be a typo
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@contextlib.contextmanager
def needs_extra(extra: str | None, what: str, source: str, key: str | None) -> Iterator[None]:
    """Turn an uninstalled optional dependency, met while building `what`, into a `ConfigError`
    (at `source`/`key`, the setting that asked for it) naming `pip install 'paperbot[extra]'`."""
    try:
        yield
    except ModuleNotFoundError as error:
        missing = (error.name or "").split(".")[0]
        if extra is None or not missing or missing in OWN_PACKAGES:
            raise
        raise ConfigError(
            source, key, f"{what} needs the Python package {missing}, which is not installed.",
            f"Install it with: pip install 'paperbot[{extra}]' (or 'paperbot[all]').",
        ) from None


class Plugins:
    """The installed plugins; `entry_points` is where they are read from (the package metadata).

    Without `entry_points`, a store is looked up in paperbot's own declarations first."""

    def __init__(self, entry_points: EntryPoints | None = None) -> None:
        self.entry_points = entry_points or installed
        self._own_first = entry_points is None

    def adapters(self) -> dict[str, AdapterPlugin]:
        """Every adapter plugin by name, sorted; loading them imports no SDK."""
        found = {}
        for entry in sorted(self.entry_points(ADAPTERS), key=lambda entry: entry.name):
            plugin = self._load(entry, "adapter")
            if not isinstance(plugin, AdapterPlugin):
                raise ConfigError("installation", f"adapter plugin {entry.name}", f"{entry.value} is not an AdapterPlugin")
            found[entry.name] = plugin
        return found

    def store(self, location: str) -> StorePlugin:
        """The store plugin for `location`'s scheme; only that one is loaded."""
        scheme = store_scheme(location)
        own = own_entry_points(STORES) if self._own_first else {}
        if scheme in own:
            return self._load(own[scheme], "store")
        entries = self._store_entries
        if scheme not in entries:
            known = ", ".join(sorted(entries)) or "none"
            raise ConfigError(
                "--db (or PAPERBOT_DB)", None, f"no store for {scheme}:// locations is installed (installed: {known}).",
                "Give a file path for a SQLite store, or install the package that provides this store.",
            )
        return self._load(entries[scheme], "store")

    @functools.cached_property
    def _store_entries(self) -> dict[str, EntryPoint]:
        """Read once: reading entry points scans every installed distribution, and a command asks twice."""
        return {entry.name.lower(): entry for entry in self.entry_points(STORES)}

    @staticmethod
    def _load(entry: EntryPoint, what: str) -> Any:
        try:
            return entry.load()
        except ImportError as error:
            raise ConfigError(
                "installation", f"{what} plugin {entry.name} ({entry.value})", f"cannot be loaded: {error}",
                "Reinstall paperbot (pip install 'paperbot[all]') or the package that provides it.",
            ) from None
