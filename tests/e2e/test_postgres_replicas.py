"""Several `paperbot run` replicas on one PostgreSQL store: each digest period is delivered once.

How it holds (store.postgres.subscriptions, bot/digest.py): a period is claimed
by one INSERT on its key, so of two replicas' sweeps exactly one wins; a claim
carries its owner and a lease, and a replica reconciles (in its periodic
sweep) only claims whose lease ran out, so a live replica's claim in flight is
never resent by another. The fetch job runs on one replica at a time under an
advisory lock that the server frees when its holder dies.

The store-level promises are tested here with two store objects (two
owners) and an injected clock; the crash test runs two real `paperbot run`
processes (tests/support/crash_runner.py) with a webhook subscription against the
local fake webhooks, SIGKILLs one after the claim, the send or the record,
and lets the other, still running, settle what the dead one left.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timedelta, timezone

import asyncpg
import pytest

from bot.models import ChannelRef, DeliveryKey, Paper, Subscription
from store.postgres.store import PostgresStore
from store.postgres.subscriptions import LEASE
from tests.e2e.test_crash_at_each_delivery_step import MONDAY, Service, WebhookPlatform, assert_monday_delivered, run_service
from tests.support import FakeClock
from tests.support.pg_server import Server, fresh_database

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc)
HERE = ChannelRef("slack", "C1", "T1")


async def two_replicas(server: Server, clock: FakeClock) -> tuple[PostgresStore, PostgresStore]:
    url = await fresh_database(server)
    return await PostgresStore.open(url, clock=clock), await PostgresStore.open(url, clock=clock)


async def subscribed(store: PostgresStore) -> Subscription:
    await store.papers.upsert_papers([Paper("2506.00001", "A paper", published="2025-06-01", topics=("rm",))])
    return await store.subscriptions.save_subscription(Subscription(id=0, channel=HERE, topic="rm"))


async def test_two_replicas_claiming_one_period_at_once_get_it_once(postgres_server: Server):
    clock = FakeClock(T0)
    first, second = await two_replicas(postgres_server, clock)
    sub = await subscribed(first)
    key = DeliveryKey(sub.id, "2025-W23")
    claims = [
        store.subscriptions.claim_delivery(key, "2025-06-02T09:00:00Z", HERE.key, ("2506.00001",), 1)
        for store in (first, second) * 3
    ]
    assert sorted(await asyncio.gather(*claims)) == [False] * 5 + [True]
    await first.close()
    await second.close()


async def test_a_live_replicas_claim_is_reconciled_only_by_itself_until_its_lease_runs_out(postgres_server: Server):
    clock = FakeClock(T0)
    owner, other = await two_replicas(postgres_server, clock)
    sub = await subscribed(owner)
    key = DeliveryKey(sub.id, "2025-W23")
    assert await owner.subscriptions.claim_delivery(key, "2025-06-02T09:00:00Z", HERE.key, ("2506.00001",), 1)
    assert [d.key for d in await owner.subscriptions.pending_deliveries()] == [key]
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert await other.subscriptions.pending_deliveries() == []  # in flight on a live replica: not another's
    clock.advance(seconds=2)
    assert [d.key for d in await other.subscriptions.pending_deliveries()] == [key]  # its owner went quiet
    await other.subscriptions.note_delivery_attempt(key)  # the other replica resends: the claim becomes its own
    assert await owner.subscriptions.pending_deliveries() == []
    assert [d.key for d in await other.subscriptions.pending_deliveries()] == [key]
    await owner.close()
    await other.close()


async def test_the_fetch_job_runs_on_one_replica_at_a_time_and_a_dead_holder_frees_it(postgres_server: Server):
    clock = FakeClock(T0)
    first, second = await two_replicas(postgres_server, clock)
    async with first.exclusive("fetch") as ours:
        assert ours
        async with second.exclusive("fetch") as theirs:
            assert not theirs
        async with second.exclusive("notes-backfill") as other_job:
            assert other_job  # another job's lock is its own
    async with second.exclusive("fetch") as theirs:
        assert theirs  # released at the end of the block
    key_holder = first.exclusive("fetch")
    assert await key_holder.__aenter__()
    # The holder dies without releasing (its connections are cut, as when its process is killed).
    admin = await asyncpg.connect(postgres_server.url())
    await admin.execute(
        # With a timeout the call waits until the backend is gone (and its locks with it), so the next
        # line does not race the termination.
        "SELECT pg_terminate_backend(l.pid, 10000) FROM pg_locks AS l "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()"
    )
    await admin.close()
    async with second.exclusive("fetch") as theirs:
        assert theirs
    await key_holder.__aexit__(None, None, None)  # the dead holder's own exit does not fail
    await first.close()
    await second.close()


@pytest.mark.parametrize("crash_at,expected_digests", [("claimed", 1), ("sent", 2), ("recorded", 1)])
async def test_a_replica_killed_at_each_step_leaves_nothing_undelivered_and_nothing_twice(
    postgres_server: Server, tmp_path, crash_at, expected_digests
):
    target = WebhookPlatform()
    await target.start()
    survivor = Service()
    try:
        db = await fresh_database(postgres_server)
        config = tmp_path / "paperbot.toml"
        config.write_text(target.config())
        env = target.env()
        code, log = await run_service(db, config, MONDAY - timedelta(days=2), env)  # seed; nothing due
        assert code == 0, log

        # The survivor runs from before the fire, sweeping often; its clock moves only on SIGUSR1.
        after_lease = MONDAY + timedelta(hours=1) + LEASE + timedelta(minutes=1)
        options = ("--sweep-every", "0.3", "--now-on-usr1", iso(after_lease))
        await survivor.start(db, config, MONDAY - timedelta(minutes=30), env, *options)
        await survivor.wait_for_line("paperbot running with")
        await survivor.wait_for_line("crash-runner: swept at")

        # The other replica fires Monday's digest and dies at `crash_at`; the survivor's sweeps leave its claim alone.
        code, log = await run_service(db, config, MONDAY + timedelta(hours=1), env, crash_at)
        assert code == -signal.SIGKILL and f"SIGKILL at {crash_at}" in log, log
        assert len(target.digests()) == (0 if crash_at == "claimed" else 1)

        # Time passes for the survivor beyond the dead replica's lease: its next sweep settles the claim.
        survivor.process.send_signal(signal.SIGUSR1)
        await survivor.wait_for_line(f"crash-runner: swept at {iso(after_lease)}")
        survivor.process.send_signal(signal.SIGTERM)
        assert await survivor.exit_code() == 0, survivor.log

        await assert_monday_delivered(target, db, config, env, expected_digests, survivor.log)
    finally:
        if survivor.process.returncode is None:
            survivor.process.kill()
        await target.stop()


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_a_fetch_job_is_skipped_on_a_replica_while_another_runs_it(postgres_server: Server):
    from bot.app import one_process_at_a_time

    clock = FakeClock(T0)
    first, second = await two_replicas(postgres_server, clock)
    ran: list[str] = []

    async def fetch() -> None:
        ran.append("fetched")

    async with first.exclusive("fetch"):
        await one_process_at_a_time(second, "fetch", fetch)()
    assert ran == []
    await one_process_at_a_time(second, "fetch", fetch)()
    assert ran == ["fetched"]
    await first.close()
    await second.close()
