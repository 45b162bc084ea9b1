"""How fast does the Slack adapter acknowledge and answer `/paper`? Prints one table.

    .venv/bin/python benchmarks/slack_bench.py                   # 200 commands, 1 and 20 at a time
    .venv/bin/python benchmarks/slack_bench.py --commands 500 --concurrency 50

Slack gives a slash command 3 seconds to be acknowledged. The bot runs as in
the tests (`tests/support/slack_harness.running_slack_bot`: `assemble` + HTTP mode on
127.0.0.1, the bundled example store) against the fake Slack Web API; each
command is a signed form POST to /slack/events. "ack" is the time to the HTTP
200 (bolt's `ack()`), "answer" the time until the answer arrived at the
response_url. The mix cycles through search, latest, show and topics. Client,
bot and fake share one event loop and one core, so the numbers are an upper
bound for the bot's own work.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.fake_slack import FakeSlack, sign, slash_command  # noqa: E402
from tests.support.slack_harness import BOT_TOKEN, SIGNING_SECRET, running_slack_bot  # noqa: E402

MIX = ["search driving", "latest 10", "show 2505.20665", "topics", "search reward model 10", "search 自动驾驶"]


async def one(slack, fake, text: str) -> tuple[float, float]:
    name = uuid.uuid4().hex
    body = slash_command(text, user="U0BENCH", channel="C0BENCH", response_url=fake.response_url(name))
    start = time.perf_counter()
    async with slack.http.post(slack.events_url, data=body.encode(), headers=sign(SIGNING_SECRET, body)) as response:
        await response.read()
        assert response.status == 200, response.status
    acked = time.perf_counter()
    await fake.wait_for(lambda: name in fake.responses, timeout=60)
    return acked - start, time.perf_counter() - start


async def run(commands: int, concurrency: int, slack, fake) -> tuple[list[float], list[float], float]:
    limit = asyncio.Semaphore(concurrency)

    async def guarded(i: int) -> tuple[float, float]:
        async with limit:
            return await one(slack, fake, MIX[i % len(MIX)])

    start = time.perf_counter()
    results = await asyncio.gather(*(guarded(i) for i in range(commands)))
    elapsed = time.perf_counter() - start
    return [a for a, _ in results], [b for _, b in results], elapsed


def ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:8.1f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    fake = await FakeSlack(BOT_TOKEN).start()
    with tempfile.TemporaryDirectory() as tmp:
        async with running_slack_bot(Path(tmp), fake) as slack:
            await run(len(MIX), 1, slack, fake)  # warm-up: bolt's first auth.test, SQLite caches
            print(
                f"{'mode':<16}{'n':>6}{'ack p50':>10}{'ack p95':>10}{'ack max':>10}"
                f"{'ans p50':>10}{'ans p95':>10}{'ans max':>10}{'cmd/s':>9}"
            )
            for concurrency in (1, args.concurrency):
                acks, answers, elapsed = await run(args.commands, concurrency, slack, fake)
                print(
                    f"{f'{concurrency} at a time':<16}{len(acks):>6}{ms(acks, .5):>10}{ms(acks, .95):>10}{ms(acks, 1):>10}"
                    f"{ms(answers, .5):>10}{ms(answers, .95):>10}{ms(answers, 1):>10}{len(acks) / elapsed:>9.1f}"
                )
            print(
                f"(ms; mean answer {statistics.mean(answers) * 1000:.1f} ms; violations seen by the fake: {len(fake.violations)})"
            )
    await fake.close()


if __name__ == "__main__":
    asyncio.run(main())
