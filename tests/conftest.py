"""Fixtures every test gets.

`bot.cli.main` run in-process configures logging for a whole process (root
handlers, levels, the noisy third-party loggers); a test that runs it must not
change what the next test logs, or a test's outcome would depend on the order.
"""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def logging_left_as_found():
    root = logging.getLogger()
    handlers, filters, level = root.handlers[:], root.filters[:], root.level
    levels = {name: logger.level for name, logger in logging.root.manager.loggerDict.items() if isinstance(logger, logging.Logger)}
    yield
    root.handlers[:], root.filters[:] = handlers, filters
    root.setLevel(level)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))
