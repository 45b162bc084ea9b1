"""How long does the Discord adapter take to answer `/paper`? Prints one table.

    .venv/bin/python benchmarks/discord_bench.py                 # 200 rounds of each command
    .venv/bin/python benchmarks/discord_bench.py --rounds 50

The bot runs as `paperbot run` assembles it (real store with the example
paper list, the real discord.py client) against the tests' fake Discord on
127.0.0.1, in one process and one event loop, so the numbers are the bot's
own cost plus loopback HTTP and websocket: from the INTERACTION_CREATE being
written to the gateway until the answer is complete at the fake (deferred
callback, then the followup carrying the answer). Discord's own 3-second
deadline is for the first callback; this measures the whole answer.
A second table times the pure renderer on a 25-paper list.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.discord.render import render_messages  # noqa: E402
from bot.models import PaperCard, PaperListReply  # noqa: E402
from tests.support.discord_harness import discord_bot  # noqa: E402
from tests.support.fake_discord import FakeDiscord  # noqa: E402

COMMANDS = [
    ("latest", {"count": 10}),
    ("search", {"query": "reward model", "count": 5}),
    ("show", {"paper": "2505.20665"}),
    ("topics", {}),
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(rounds: int) -> None:
    fake = await FakeDiscord().start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            async with discord_bot(Path(scratch) / "bench.db", fake):
                print(f"{'command':<10} {'rounds':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
                for name, options in COMMANDS:
                    timings = []
                    for _ in range(rounds):
                        started = time.perf_counter()
                        record = await fake.slash(name, options)
                        await fake.until(record.answered, timeout=60)
                        timings.append((time.perf_counter() - started) * 1000)
                    p50, p95 = statistics.median(timings), percentile(timings, 0.95)
                    print(f"{name:<10} {rounds:>6} {p50:>8.1f} {p95:>8.1f} {max(timings):>8.1f}")
    finally:
        await fake.close()
    if fake.problems:
        print("payload problems:", fake.problems[:5])


def render_table(rounds: int) -> None:
    cards = tuple(
        PaperCard(f"2506.{n:05d}", f"Paper {n}: reward models for vision-language agents", f"https://arxiv.org/abs/2506.{n:05d}",
                  "2025-06-01", ("Ada Lovelace", "Alan Turing"), "https://github.com/lab/x", "A TLDR sentence. " * 12)
        for n in range(25)
    )
    reply = PaperListReply("25 new papers on Reward models · 2025-W23", cards)
    started = time.perf_counter()
    for _ in range(rounds):
        messages = render_messages(reply)
    per_call = (time.perf_counter() - started) * 1000 / rounds
    print(f"\nrender_messages, 25 papers -> {len(messages)} messages: {per_call:.2f} ms per reply ({rounds} rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(measure(args.rounds))
    render_table(args.rounds)


if __name__ == "__main__":
    main()
