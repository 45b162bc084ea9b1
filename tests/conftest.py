"""Fixtures every test gets.

`bot.cli.main` run in-process configures logging for a whole process (root
handlers, levels, the noisy third-party loggers); a test that runs it must not
change what the next test logs, or a test's outcome would depend on the order.
"""

from __future__ import annotations

import logging

import pytest
from _pytest.logging import LogCaptureHandler


def _ours(handler: logging.Handler) -> bool:
    """Not one of pytest's capturing handlers, which pytest adds and removes around each test phase."""
    return not isinstance(handler, LogCaptureHandler) and type(handler).__module__ != "_pytest.logging"


@pytest.fixture(autouse=True)
def logging_left_as_found():
    root = logging.getLogger()
    handlers, filters, level = [h for h in root.handlers if _ours(h)], root.filters[:], root.level
    levels = {name: logger.level for name, logger in logging.root.manager.loggerDict.items() if isinstance(logger, logging.Logger)}
    yield
    root.handlers[:] = [h for h in root.handlers if not _ours(h)] + handlers
    root.filters[:] = filters
    root.setLevel(level)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))


@pytest.fixture(scope="session")
def postgres_server():
    """The run's one throwaway PostgreSQL server (`tests.pg_server`), started on first use; never skipped."""
    from tests.pg_server import shared_server

    return shared_server()
