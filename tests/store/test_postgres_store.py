"""What the PostgreSQL store promises beyond the store contract (which tests/store/test_store_contract.py
runs against it like against SQLite): versioned migrations, a newer database refused, clear
errors for an unreachable server or a refused login with the password never shown, and
reconnecting when the server drops a connection, losing nothing.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from bot.errors import ConfigError, StoreError
from bot.models import ChannelRef, Paper, Subscription
from bot.plugins import Plugins, shown_location
from store.postgres import schema
from store.postgres.database import RECONNECT, Database
from store.postgres.store import PostgresStore
from tests.support import FakeClock, Sleeps, run_paperbot
from tests.support.pg_server import Server, admin, fresh_database

CLOCK = FakeClock(datetime(2025, 6, 2, 9, 0, tzinfo=timezone.utc))
PASSWORD = "s3cret-Pa55word"


def paper(arxiv_id: str, **fields) -> Paper:
    return Paper(arxiv_id=arxiv_id, title=fields.pop("title", f"Paper {arxiv_id}"), published="2025-06-01", **fields)


async def version_of(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return await schema.schema_version(conn)
    finally:
        await conn.close()


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- migrations -----------------------------------------------------------------------------


async def test_a_blank_database_is_migrated_to_the_newest_version_and_a_reopen_changes_nothing(postgres_server: Server):
    url = await fresh_database(postgres_server, migrated=False)
    assert await version_of(url) == 0
    store = await PostgresStore.open(url, clock=CLOCK)
    await store.papers.upsert_papers([paper("2506.00001")])
    await store.close()
    assert await version_of(url) == len(schema.MIGRATIONS)
    again = await PostgresStore.open(url, clock=CLOCK)
    assert await again.papers.paper_count() == 1
    await again.close()


async def test_an_older_database_is_migrated_forward_and_keeps_its_data(postgres_server: Server):
    url = await fresh_database(postgres_server, migrated=False)
    v1 = await PostgresStore.open(url, clock=CLOCK, migrations=schema.MIGRATIONS[:1])
    await v1.papers.upsert_papers([paper("2506.00001", title="Kept through the upgrade")])
    await v1.close()
    step_two = "CREATE TABLE future_feature (id INTEGER)"
    upgraded = await PostgresStore.open(url, clock=CLOCK, migrations=[*schema.MIGRATIONS, step_two])
    assert (await upgraded.papers.get("2506.00001")).title == "Kept through the upgrade"
    await upgraded.close()
    assert await version_of(url) == len(schema.MIGRATIONS) + 1


async def test_a_failing_migration_step_leaves_the_database_at_the_last_good_version(postgres_server: Server):
    url = await fresh_database(postgres_server, migrated=False)
    broken = [*schema.MIGRATIONS, "CREATE TABLE half_done (id INTEGER); SELECT no_such_function()"]
    with pytest.raises(asyncpg.exceptions.UndefinedFunctionError):
        await PostgresStore.open(url, clock=CLOCK, migrations=broken)
    assert await version_of(url) == len(schema.MIGRATIONS)
    conn = await asyncpg.connect(url)
    assert await conn.fetchval("SELECT to_regclass('half_done')") is None  # the step's transaction rolled back
    await conn.close()


async def test_a_database_from_a_newer_paperbot_is_refused_and_left_alone(postgres_server: Server):
    url = await fresh_database(postgres_server)
    conn = await asyncpg.connect(url)
    await conn.execute("UPDATE paperbot_schema SET version = 99")
    await conn.close()
    for read_only in (False, True):
        with pytest.raises(schema.SchemaVersionError, match=r"schema version 99, newer than this paperbot knows \(up to \d+\)"):
            await PostgresStore.open(url, clock=CLOCK, read_only=read_only)
    assert await version_of(url) == 99


async def test_a_read_only_open_writes_nothing(postgres_server: Server):
    blank = await fresh_database(postgres_server, migrated=False)
    with pytest.raises(StoreError, match="schema version 0, not this paperbot's .* run `paperbot run` or `paperbot import FILE`"):
        await PostgresStore.open(blank, clock=CLOCK, read_only=True)
    assert await version_of(blank) == 0
    url = await fresh_database(postgres_server)
    reader = await PostgresStore.open(url, clock=CLOCK, read_only=True)
    with pytest.raises(StoreError, match="opened read-only"):
        await reader.papers.upsert_papers([paper("2506.00001")])
    assert await reader.papers.paper_count() == 0
    await reader.close()


# --- a server that cannot be reached, a refused login ------------------------------------------


async def test_without_the_driver_a_postgresql_store_is_a_config_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch):
    for name in [name for name in sys.modules if name.startswith("store.postgres.") and name != "store.postgres.plugin"]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # not installed
    plugin = Plugins().store("postgresql://bot@db/papers")
    with pytest.raises(ConfigError, match=r"needs the Python package asyncpg.*pip install 'paperbot\[postgres\]'"):
        await plugin.open("postgresql://bot@db/papers", clock=CLOCK)


@pytest.mark.parametrize(
    "url, shown",
    [
        (f"postgresql://bot:{PASSWORD}@/papers?host=/run/pg", "postgresql://bot:***@/papers?host=/run/pg"),
        (
            f"postgresql://bot@db:5433/papers?password={PASSWORD}&sslmode=require",
            "postgresql://bot@db:5433/papers?password=***&sslmode=require",
        ),
        (f"postgres://bot:{PASSWORD}@db/papers", "postgres://bot:***@db/papers"),
        (f"postgresql://bot:{PASSWORD}@db:54x2/papers", "postgresql://bot:***@db:54x2/papers"),
    ],
)
def test_a_socket_url_or_a_password_parameter_is_shown_without_the_password(url, shown):
    assert shown_location(url) == shown


async def test_an_unreachable_server_is_named_by_host_and_port_without_the_password():
    port = closed_port()
    with pytest.raises(StoreError) as caught:
        await PostgresStore.open(f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/papers", clock=CLOCK)
    message = str(caught.value)
    assert f"cannot reach the PostgreSQL server at 127.0.0.1:{port}" in message and "right host and port" in message
    assert PASSWORD not in message and PASSWORD not in caught.value.path
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no traceback carrying the URL


def test_a_malformed_url_is_exit_status_2_without_the_password(tmp_path: Path):
    result = run_paperbot("latest", db=tmp_path / "unused.db", env={"PAPERBOT_DB": f"postgresql://bot:{PASSWORD}@db:54x2/papers"})
    assert result.returncode == 2, result.stderr
    assert "postgresql://bot:***@db:54x2/papers is not a valid PostgreSQL URL" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_paperbot_exits_2_naming_an_unreachable_server_and_never_prints_the_password(tmp_path: Path):
    port = closed_port()
    url = f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/papers"
    for command in (["latest"], ["-v", "run"]):
        result = run_paperbot(*command, db=tmp_path / "unused.db", env={"PAPERBOT_DB": url}, input_text="")
        assert result.returncode == 2, result.stderr
        assert f"127.0.0.1:{port}" in result.stderr
        assert PASSWORD not in result.stderr + result.stdout


ROLE = "paperbot_pw"


@pytest.fixture(scope="module")
def password_role(postgres_server: Server) -> str:
    """A role that must log in with PASSWORD (scram) on the shared server, owning database ROLE;
    the database `paperbot_pw_denied` is migrated but not its."""
    hba = Path(postgres_server.pgdata) / "pg_hba.conf"
    rule = f"local all {ROLE} scram-sha-256\n"
    if rule not in hba.read_text():
        hba.write_text(rule + hba.read_text())
    asyncio.run(
        admin(
            postgres_server,
            f"DO $$ BEGIN CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$",
            f"CREATE DATABASE {ROLE} OWNER {ROLE}",
            "CREATE DATABASE paperbot_pw_denied TEMPLATE paperbot_template",
            "SELECT pg_reload_conf()",
        )
    )
    asyncio.run(_migrate(postgres_server.url(ROLE, user=ROLE, password=PASSWORD)))
    return ROLE


async def _migrate(url: str) -> None:
    await (await PostgresStore.open(url, clock=CLOCK)).close()


def test_wrong_credentials_are_refused_naming_the_user_never_the_password(
    postgres_server: Server, password_role: str, tmp_path: Path
):
    wrong = "not-" + PASSWORD
    url = postgres_server.url(password_role, user=password_role, password=wrong)
    result = run_paperbot("-v", "latest", db=tmp_path / "unused.db", env={"PAPERBOT_DB": url})
    assert result.returncode == 2, result.stderr
    assert f"refused user '{password_role}' (wrong password, or no such role)" in result.stderr
    assert wrong not in result.stderr + result.stdout and PASSWORD not in result.stderr + result.stdout
    right = postgres_server.url(password_role, user=password_role, password=PASSWORD)
    ok = run_paperbot("-v", "latest", db=tmp_path / "unused.db", env={"PAPERBOT_DB": right})
    assert ok.returncode == 0, ok.stderr  # the same role with its password gets in: it was the password
    assert PASSWORD not in ok.stderr + ok.stdout


def test_a_role_without_privileges_on_the_tables_is_told_what_to_grant(
    postgres_server: Server, password_role: str, tmp_path: Path
):
    url = postgres_server.url("paperbot_pw_denied", user=password_role, password=PASSWORD)
    result = run_paperbot("latest", db=tmp_path / "unused.db", env={"PAPERBOT_DB": url})
    assert result.returncode == 2, result.stderr
    assert f"user '{password_role}' may not use the tables of database 'paperbot_pw_denied'" in result.stderr
    assert "grant it the privileges" in result.stderr and PASSWORD not in result.stderr


# --- dropped connections ---------------------------------------------------------------------


async def terminate_backends(server: Server, url: str) -> int:
    database = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(server.url())
    try:
        return await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()


async def test_work_whose_connection_the_server_drops_is_retried_on_a_new_one(postgres_server: Server):
    url = await fresh_database(postgres_server)
    sleeps = Sleeps()
    db = await Database.open(url, clock=CLOCK, sleep=sleeps)
    backends: list[int] = []

    async def work(conn: asyncpg.Connection) -> str:
        backends.append(await conn.fetchval("SELECT pg_backend_pid()"))
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ('attempt', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            str(len(backends)),
        )
        if len(backends) == 1:
            await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")  # the server drops us mid-transaction
        return await conn.fetchval("SELECT value FROM meta WHERE key = 'attempt'")

    assert await db.run(work) == "2"
    assert len(set(backends)) == 2 and sleeps.waits == [RECONNECT.backoff(1)]
    await db.close()


async def test_a_store_whose_connections_were_all_dropped_goes_on_and_loses_nothing(postgres_server: Server):
    url = await fresh_database(postgres_server)
    store = await PostgresStore.open(url, clock=CLOCK)
    await store.papers.upsert_papers([paper("2506.00001", topics=("rm",))])
    assert await terminate_backends(postgres_server, url) >= 1
    await store.papers.upsert_papers([paper("2506.00002", topics=("rm",))])
    assert await terminate_backends(postgres_server, url) >= 1
    assert [p.arxiv_id for p in await store.papers.latest("rm", 10)] == ["2506.00002", "2506.00001"]
    await store.close()


async def test_a_server_that_stays_away_is_a_store_error_after_the_retries(postgres_server: Server):
    url = await fresh_database(postgres_server)
    sleeps = Sleeps()
    db = await Database.open(url, clock=CLOCK, sleep=sleeps)

    async def always_dropped(conn: asyncpg.Connection) -> None:
        await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises(StoreError, match=r"lost the connection to the PostgreSQL server at .* could not reconnect"):
        await db.run(always_dropped)
    assert len(sleeps.waits) == RECONNECT.attempts - 1
    await db.close()


# --- paperbot migrate --to postgresql://… ------------------------------------------------------------


async def sqlite_store_with_history(path: Path) -> None:
    """A SQLite store with papers, notes, full text, a retired and an active subscription, and deliveries."""
    from bot.fulltext.document import FullText, Section
    from bot.models import DeliveryKey, Figure, Notes, Topic
    from store.sqlite import SqliteStore

    store = await SqliteStore.open(path, clock=CLOCK)
    await store.papers.upsert_topics([Topic("rm", "Reward models")])
    await store.papers.upsert_papers(
        [paper(f"2506.{i:05d}", topics=("rm",), notes=(Notes("zh", headline=f"自动驾驶 {i}"),)) for i in range(1, 31)]
    )
    await store.papers.set_meta("fetch.cursor.rm", "2025-06-01")
    await store.notes.record_notes_failure("2506.00002", "en", "no JSON", "2025-06-02T09:00:00Z")
    await store.fulltext.save_fulltext(
        FullText("2506.00001", 1, "html", (Section("Intro", "Body text."),), Figure("https://x/f.png", "A figure"))
    )
    here = ChannelRef("slack", "C1", "T1")
    sub = await store.subscriptions.save_subscription(Subscription(id=0, channel=here, topic="rm"))
    gone = await store.subscriptions.save_subscription(Subscription(id=0, channel=ChannelRef("slack", "C2", "T1"), topic="rm"))
    await store.subscriptions.retire_subscription(gone.channel, "rm", "2025-06-02T10:00:00Z")
    upto = await store.subscriptions.membership_sequence()
    key = DeliveryKey(sub.id, "2025-W23")
    assert await store.subscriptions.claim_delivery(
        key, "2025-06-02T09:00:00Z", here.key, ("2506.00001", "2506.00002"), 30, until_seq=upto
    )
    await store.subscriptions.record_delivery(key, ("m1",), "2025-06-02T09:00:05Z")
    await store.close()


async def test_migrate_copies_a_sqlite_store_with_its_history_and_the_copy_goes_on_where_it_stopped(
    postgres_server: Server, tmp_path: Path
):
    from store.postgres.migrate import copy_sqlite_store

    source = tmp_path / "paperbot.db"
    await sqlite_store_with_history(source)
    before = source.read_bytes()
    url = await fresh_database(postgres_server, migrated=False)
    report = await copy_sqlite_store(str(source), url, clock=CLOCK)
    assert report.counts["papers"] == 30 and report.counts["subscriptions"] == 2 and report.counts["channel_papers"] == 2
    assert source.read_bytes() == before  # the source is only read

    store = await PostgresStore.open(url, clock=CLOCK)
    copied = await store.papers.get("2506.00001")
    assert copied.topics == ("rm",) and copied.notes[0].headline == "自动驾驶 1"
    assert [p.arxiv_id for p in await store.papers.search("驾驶 1")][:1] == ["2506.00001"]  # the index came along
    assert (await store.fulltext.fulltext("2506.00001")).sections[0].body == "Body text."
    assert await store.notes.notes_failures("en") == {"2506.00002": (1, "no JSON")}
    assert await store.papers.get_meta("fetch.cursor.rm") == "2025-06-01"
    [sub] = await store.subscriptions.subscriptions()
    assert [(d.period, d.state) for d in await store.subscriptions.deliveries(sub.id)] == [("2025-W23", "sent")]
    # What was posted stays posted, and the next digest's window starts where the last one stopped.
    last = await store.subscriptions.last_delivery(sub.id)
    papers, total = await store.subscriptions.digest_candidates("rm", sub.channel.key, None, None, 50, after_seq=last.until_seq)
    assert (papers, total) == ([], 0)
    papers, total = await store.subscriptions.digest_candidates("rm", sub.channel.key, None, None, 50)
    assert total == 28 and "2506.00001" not in [p.arxiv_id for p in papers]
    # New rows get new ids: nothing collides with the copied ones.
    await store.papers.upsert_papers([paper("2507.00001", topics=("rm",))])
    assert await store.subscriptions.membership_sequence() > last.until_seq
    again = await store.subscriptions.save_subscription(Subscription(id=0, channel=ChannelRef("slack", "C9", "T1"), topic="rm"))
    assert again.id > sub.id
    await store.close()


def test_paperbot_migrate_refuses_a_target_that_holds_papers_and_changes_nothing(postgres_server: Server, tmp_path: Path):
    source = tmp_path / "paperbot.db"
    asyncio.run(sqlite_store_with_history(source))
    url = asyncio.run(fresh_database(postgres_server))
    first = run_paperbot("migrate", "--to", url, db=source)
    assert first.returncode == 0, first.stderr
    assert "counted again: meta 1, topics 1, papers 30," in first.stdout
    second = run_paperbot("migrate", db=source, env={"PAPERBOT_MIGRATE_TO": url})
    assert second.returncode == 2
    assert "already holds papers and subscriptions; migrate into an empty database" in second.stderr
    missing = run_paperbot("migrate", db=source)
    assert missing.returncode == 2 and "migrate needs the target store: --to URL (or PAPERBOT_MIGRATE_TO)" in missing.stderr


# --- the search plan -------------------------------------------------------------------------------


async def test_a_common_word_is_ranked_among_its_newest_matches_and_a_rare_one_over_all(
    postgres_server: Server, monkeypatch: pytest.MonkeyPatch
):
    from store.postgres import search as search_plan

    store = await PostgresStore.open(await fresh_database(postgres_server), clock=CLOCK)
    old_title_hits = [paper(f"2501.0000{i}", title=f"Zebra {i}") for i in range(1, 4)]
    new_abstract_hits = [paper(f"2506.0000{i}", title=f"Study {i}", abstract="A zebra here.") for i in range(1, 4)]
    await store.papers.upsert_papers(old_title_hits)
    await store.papers.upsert_papers(new_abstract_hits)
    everything = [p.arxiv_id for p in await store.papers.search("zebra", limit=6)]
    assert everything[:3] == ["2501.00003", "2501.00002", "2501.00001"]  # fewer matches than the pool: all ranked
    monkeypatch.setattr(search_plan, "RANKED_POOL", 3)
    assert sorted(p.arxiv_id for p in await store.papers.search("zebra", limit=6)) == ["2506.00001", "2506.00002", "2506.00003"]
    await store.close()


async def test_a_chinese_phrase_is_checked_after_the_pool_is_chosen_by_its_words(postgres_server: Server):
    from bot.models import Notes

    store = await PostgresStore.open(await fresh_database(postgres_server), clock=CLOCK)
    await store.papers.upsert_papers(
        [
            paper("2506.00001", notes=(Notes("zh", headline="自动驾驶"),)),
            paper("2506.00002", notes=(Notes("zh", headline="驾驶自动"),)),  # both words, not in that order
        ]
    )
    assert [p.arxiv_id for p in await store.papers.search("自动驾驶")] == ["2506.00001"]
    assert [p.arxiv_id for p in await store.papers.search("near-term")] == []
    await store.close()
