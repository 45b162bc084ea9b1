"""`paperbot run` with a fixed clock that SIGKILLs itself at one step of a delivery.

The crash-injection tests start this in a subprocess: the real composition
(`bot.app.run_bot`: store, config sync, `assemble`, then `Bot.running()`:
adapters, scheduler start with its reconcile and catch-up) runs, and at `--crash-at` (claimed, sent or
recorded, the DigestEngine's `on_step` seam) the process dies the way a
power cut kills it: no cleanup, no flush beyond what SQLite committed.
Otherwise it runs until SIGTERM, which the test sends once start-up is over.

    python -m tests.support.crash_runner --db D --config C --now 2025-06-02T10:00:00Z [--crash-at sent]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import sys
from datetime import datetime

from bot.app import Runtime, run_bot
from bot.config import load_config
from bot.logs import setup_logging
from bot.models import DeliveryKey
from tests.support import FakeClock


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--config", required=True)
    parser.add_argument("--now", required=True, type=lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")))
    parser.add_argument("--crash-at", choices=("claimed", "sent", "recorded"))
    args = parser.parse_args()
    setup_logging("INFO")

    def on_step(step: str, key: DeliveryKey) -> None:
        if step == args.crash_at:
            print(f"crash-runner: SIGKILL at {step} of {key.label}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    runtime = Runtime(args.db, load_config(args.config, explicit=True), clock=FakeClock(args.now), env=dict(os.environ))
    # No console (stdin is /dev/null, as under `docker run -d`): the run lasts until the test's SIGTERM.
    with open(os.devnull) as no_input:
        return asyncio.run(run_bot(runtime, stdin=no_input, stdout=io.StringIO(), on_step=on_step))


if __name__ == "__main__":
    sys.exit(main())
