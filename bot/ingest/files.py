"""Reading a file a user asked to import: one set of refusals for every importer that reads a whole file.

Why this exists: the paper-list and BibTeX importers both read a file whole
before parsing it, and both must refuse a directory, a device or pipe (which
could be read forever) and a file far larger than any list people keep,
naming the file, without a traceback.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import IngestError

# Far more than any list people keep by hand; stops a mistaken path to a dump or an image.
MAX_FILE_BYTES = 32 * 1024 * 1024


def read_import_file(path: Path, what: str, error: type[IngestError] = IngestError) -> bytes:
    """The bytes of `path`, or `error` naming the file and why it cannot be a `what` ("paper-list file")."""
    try:
        if path.is_dir():
            raise error(str(path), f"is a directory, not a {what}")
        if path.exists() and not path.is_file():
            raise error(str(path), "is not a regular file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise error(str(path), f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: not a {what}")
        return path.read_bytes()
    except OSError as err:
        raise error(str(path), f"cannot be read: {err.strerror or err}") from None
