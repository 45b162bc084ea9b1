"""The commands paperbot ships, in the order help lists them.

A new command is a `Command` in one of the family modules (or a new one),
added here; every interface picks it up from this registry.
"""

from __future__ import annotations

from bot.commands import ask, channel_digests, lookups, paper_files, taste, votes
from bot.commands.help import HELP
from bot.commands.model import Registry

REGISTRY = Registry([
    *lookups.COMMANDS, *ask.COMMANDS, *taste.COMMANDS, *votes.COMMANDS, *channel_digests.COMMANDS, *paper_files.COMMANDS, HELP,
])
