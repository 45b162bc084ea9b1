"""`paperbot run` with a fixed clock that SIGKILLs itself at one step of a delivery.

The crash-injection tests start this in a subprocess: the real composition
(`bot.app.run_bot`: store, config sync, `assemble`, then `Bot.running()`:
adapters, scheduler start with its reconcile and catch-up) runs, and at `--crash-at` (claimed, sent or
recorded, the DigestEngine's `on_step` seam) the process dies the way a
power cut kills it: no cleanup, no flush beyond what SQLite committed.
Otherwise it runs until SIGTERM, which the test sends once start-up is over.

For replica tests (tests/e2e/test_postgres_replicas.py): `--sweep-every S` makes the
periodic sweep run every S real seconds (it logs `crash-runner: swept at <now>`),
and `--now-on-usr1 T` moves the fixed clock to T when the process gets SIGUSR1.

    python -m tests.support.crash_runner --db D --config C --now 2025-06-02T10:00:00Z [--crash-at sent]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import sys
from datetime import datetime, timedelta
from typing import TextIO

from bot import scheduler
from bot.app import Runtime, run_bot
from bot.config import load_config
from bot.digest import DigestEngine
from bot.logs import setup_logging
from bot.models import DeliveryKey
from bot.utc import iso
from tests.support import FakeClock


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--now", required=True, type=lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")))
    parser.add_argument("--crash-at", choices=("claimed", "sent", "recorded"))
    parser.add_argument("--sweep-every", type=float)
    parser.add_argument("--now-on-usr1", type=lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")))
    args = parser.parse_args()
    setup_logging("INFO")
    clock = FakeClock(args.now)
    if args.sweep_every:
        scheduler.SWEEP_EVERY = timedelta(seconds=args.sweep_every)
        sweep = DigestEngine.sweep

        async def logged_sweep(engine: DigestEngine) -> None:
            await sweep(engine)
            print(f"crash-runner: swept at {iso(engine.clock.now())}", file=sys.stderr, flush=True)

        DigestEngine.sweep = logged_sweep  # type: ignore[method-assign]

    def on_step(step: str, key: DeliveryKey) -> None:
        if step == args.crash_at:
            print(f"crash-runner: SIGKILL at {step} of {key.label}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    runtime = Runtime(args.db, load_config(args.config, explicit=True), clock=clock, env=dict(os.environ))

    async def serve(no_input: TextIO) -> int:
        if args.now_on_usr1:
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, clock.set, args.now_on_usr1)
        return await run_bot(runtime, stdin=no_input, stdout=io.StringIO(), on_step=on_step)

    # No console (stdin is /dev/null, as under `docker run -d`): the run lasts until the test's SIGTERM.
    with open(os.devnull) as no_input:
        return asyncio.run(serve(no_input))


if __name__ == "__main__":
    sys.exit(main())
