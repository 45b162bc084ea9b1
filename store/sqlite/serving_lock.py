"""One `paperbot run` per store: an OS lock on `<store>.lock`.

Two bots on one store would both post every digest and both fetch every
topic. SQLite's locks only take turns between writers; they cannot say "this
store already has a bot". `fcntl.flock` can, and the kernel drops it when the
holder exits, cleanly or by a crash or SIGKILL, so a lock file left behind
never blocks the next start. The holder writes its pid into the file so the
refusal can name it. Lookups, imports and fetches do not take this lock: they
work beside a running bot.
"""

from __future__ import annotations

import fcntl
import os

from bot.errors import StoreError


class ServingLock:
    def __init__(self, fd: int, lock_path: str) -> None:
        self._fd: int | None = fd
        self.lock_path = lock_path

    @classmethod
    def acquire(cls, store_path: str) -> "ServingLock":
        """Take the lock for `store_path` or raise StoreError naming the process that holds it."""
        lock_path = f"{store_path}.lock"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise StoreError(
                f"cannot create the lock file {lock_path}: {error.strerror}; check the --db path", store_path
            ) from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            who = f"(pid {holder}) " if holder.isdigit() else ""
            raise StoreError(
                f"another `paperbot run` {who}is already serving {store_path}; stop it first, or give this one "
                "its own store with --db (lookups and imports work beside it)",
                store_path,
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return cls(fd, lock_path)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the only descriptor releases the flock
            self._fd = None
