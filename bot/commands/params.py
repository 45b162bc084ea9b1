"""The parameters several commands share, so they read, complete and explain the same everywhere."""

from __future__ import annotations

from bot.commands.model import Completion, Param
from bot.service import DEFAULT_COUNT, MAX_COUNT

# The topic of the shipped config and the example paper list: examples must name one that exists.
EXAMPLE_TOPIC = "reward-model-vlm"
# Where a platform turns pages (Discord), a list answer shows this many papers per page.
PAGE_SIZE = 5

TOPIC = Param(
    "topic", "Only papers of this topic (see /paper topics)", "topic",
    flag=True, completion=Completion.TOPIC, example=EXAMPLE_TOPIC,
)
COUNT = Param(
    "count", f"How many papers, 1-{MAX_COUNT} (default {DEFAULT_COUNT})", "count",
    type=int, flag=True, bounds=(1, MAX_COUNT), short_flag="-n", example="10",
)
