"""Composition root: builds the store, the services, the adapters and the scheduler, and runs them.

This module and `bot.cli` are the only places in the core that know concrete
classes (`store.sqlite.SqliteStore`, the adapters); they import them lazily so
the core's import graph stays clean. `run_bot` runs until SIGTERM/SIGINT, or
until the console's input ends when the console is the only way in.

Which adapters run: Slack when `SLACK_BOT_TOKEN` is set, Discord when
`DISCORD_TOKEN` is set, webhooks always (they only post digests), and the
console when neither chat platform is configured and standard input is a
terminal, a pipe or a file (not /dev/null, as under `docker run -d`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import stat
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Callable, Mapping, TextIO

from bot.commands import CommandRouter
from bot.config import DEFAULT_DB_PATH, FileConfig
from bot.digest import DigestEngine
from bot.ingest.paperlist import import_paperlist
from bot.models import DeliveryKey
from bot.ports import ChatAdapter, Clock, FullTextStore, PaperStore, Store, SystemClock
from bot.progress import show_bars
from bot.ranking import Ranking
from bot.scheduler import BotScheduler
from bot.service import PaperService
from bot.subscriptions import SubscriptionService

if TYPE_CHECKING:  # built lazily: the lookups' start-up does not load the HTTP and model clients
    from bot.fulltext.fetch import FullTextFetcher
    from bot.llm_notes import NotesWriter

log = logging.getLogger("paperbot")

EXAMPLE_LIST = "data/example-paper-list.md"


@dataclass(frozen=True)
class Runtime:
    """What a run needs besides the config file: where the store is, the clock, the environment."""

    db_path: str
    config: FileConfig
    clock: Clock = SystemClock()
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


@contextlib.asynccontextmanager
async def open_store(runtime: Runtime, *, read_only: bool = False, serving: bool = False) -> AsyncIterator[Store]:
    """The store for one command or one run; a store failure the user can fix is a `StoreError`.

    A writable open syncs the config's topics into the store; a `read_only` one
    (lookups) writes nothing at all. `serving`: refuse when another `paperbot run`
    serves this store. Only the default data directory is created when missing.
    """
    from store.sqlite import SqliteStore

    path = runtime.db_path
    create_parent = Path(path).parent.resolve() == Path(DEFAULT_DB_PATH).parent.resolve()
    store = await SqliteStore.open(
        path, clock=runtime.clock, read_only=read_only, create_parent=create_parent, serving=serving
    )
    try:
        if not read_only:
            await store.papers.upsert_topics(runtime.config.topic_list())
        yield store
    finally:
        await store.close()


def build_service(store: PaperStore, config: FileConfig, fulltext: FullTextStore | None = None) -> PaperService:
    return PaperService(store, tldr_lang=config.tldr_lang, fulltext=fulltext)


def build_ranking(service: PaperService, store: Store, config: FileConfig, *, save_models: bool = True) -> Ranking:
    """Libraries and their models; `save_models=False` for a read-only store (models are used, not kept)."""
    return Ranking(service, store.libraries, save_models=save_models, config_source=config.source)


def example_topic() -> str:
    """The topic the example paper list is imported under."""
    from bot.ingest.paperlist import parse_paperlist

    data = resources.files("bot").joinpath(EXAMPLE_LIST).read_bytes()
    return parse_paperlist(data, EXAMPLE_LIST).topic.name


async def seed_example_data(store: PaperStore) -> None:
    """An empty store gets the project's example paper list, so day one is not a blank screen."""
    if await store.paper_count():
        return
    with resources.as_file(resources.files("bot").joinpath(EXAMPLE_LIST)) as path:
        report = await import_paperlist(store, Path(path))
    log.info("empty store: imported the example paper list (%d papers, topic %s)", report.new, report.topic.name)


def stdin_is_usable(stream: TextIO) -> bool:
    """A terminal, a pipe or a file; not /dev/null or a closed descriptor."""
    try:
        fd = stream.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, ValueError, OSError):
        return True  # a test's StringIO and the like
    return os.isatty(fd) or not stat.S_ISCHR(mode)


@dataclass
class Bot:
    """Everything `paperbot run` assembles, for tests to drive and `run_bot` to run."""

    store: Store
    service: PaperService
    engine: DigestEngine
    subscriptions: SubscriptionService
    router: CommandRouter
    scheduler: BotScheduler
    adapters: dict[str, ChatAdapter]
    fetcher: object | None = None
    notes: object | None = None  # bot.llm_notes.NotesWriter when [notes] is enabled and usable
    fulltext: FullTextFetcher | None = None  # full text for notes, questions and key figures
    ranking: Ranking | None = None


async def build_digest_core(
    runtime: Runtime, store: Store, *, on_step: Callable[[str, DeliveryKey], None] | None = None,
    sync_config: bool = True,
) -> tuple[PaperService, DigestEngine, SubscriptionService]:
    """The service, the digest engine (no adapters yet) and the subscriptions, synced with the config
    file when `sync_config` (only `run` syncs; `status` reads the store as it is)."""
    config = runtime.config
    service = build_service(store.papers, config, store.fulltext)
    topics = {item.topic.name: item.topic for item in await store.papers.topics()}
    engine = DigestEngine(
        store.subscriptions, store.papers, {}, topics, clock=runtime.clock,
        max_lateness=timedelta(hours=config.digest.max_lateness_hours),
        stop_grace=timedelta(seconds=config.digest.stop_grace_seconds), on_step=on_step, fulltext=store.fulltext,
    )
    subscriptions = SubscriptionService(
        service, engine, default_timezone=config.timezone, default_language=config.tldr_lang,
        config_source=config.source, configured=config.subscription_list(),
    )
    if sync_config:
        config.check_subscription_topics(topics)
        await subscriptions.sync_config()
    return service, engine, subscriptions


async def assemble(
    runtime: Runtime,
    store: Store,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    on_console_eof: Callable[[], None] | None = None,
    on_step: Callable[[str, DeliveryKey], None] | None = None,
) -> Bot:
    config = runtime.config
    if config.example_data:
        await seed_example_data(store.papers)
    service, engine, subscriptions = await build_digest_core(runtime, store, on_step=on_step)
    ranking = build_ranking(service, store, config)
    await ranking.sync_config(config.library_list())
    engine.ranker = ranking
    scheduler = BotScheduler(engine)
    subscriptions.on_change = scheduler.rebuild
    notes = build_notes_writer(runtime, store) if config.notes.enabled else None
    fulltext = build_fulltext_fetcher(runtime, store) if config.fulltext.enabled else None
    asker = None
    if notes is not None:
        from bot.ask import PaperAsker

        asker = PaperAsker(notes, store.fulltext, fulltext)
    router = CommandRouter(service, subscriptions, asker=asker, ranking=ranking)
    adapters = build_adapters(runtime, router, store.papers, stdin=stdin, stdout=stdout, on_console_eof=on_console_eof)
    engine.adapters.update(adapters)
    await subscriptions.report_undeliverable(runtime.env, adapters)

    fetcher = None
    if config.fetch.enabled:
        from bot.ingest.arxiv import ArxivFetcher, fetchable_topics, last_fetch, resolve_api_url

        fetch_topics = [t for t in config.topic_list() if t.query]
        if fetch_topics:
            fetcher = ArxivFetcher(store.papers, config.fetch, resolve_api_url(config), clock=runtime.clock)

            async def fetch() -> None:
                await fetcher.fetch_topics(fetchable_topics(config))  # it logs each topic's outcome itself
                if notes is not None:  # new papers get their full text, then their notes, before the next digest
                    if fulltext is not None:
                        await fetch_full_texts(fulltext)
                    await write_notes(notes)
                await prepare_ranked_digests(engine)

            async def oldest_fetch() -> datetime | None:
                times = [await last_fetch(store.papers, topic) for topic in fetch_topics]
                return None if any(t is None for t in times) else min(times)

            scheduler.fetch, scheduler.fetch_schedule, scheduler.last_fetch = fetch, config.fetch_schedule(), oldest_fetch
    return Bot(store, service, engine, subscriptions, router, scheduler, adapters, fetcher, notes, fulltext, ranking)


async def prepare_ranked_digests(engine: DigestEngine) -> None:
    """After new papers arrive: plan the ranked digests once, so their papers are cut into terms
    (cached) now and not when the digest fires. A failure only costs that speed."""
    try:
        planned = await engine.plan_ranked()
    except Exception:
        log.exception("preparing ranked digests failed; they are ranked from scratch when they fire")
        return
    if planned:
        log.info("prepared %d ranked digest%s", planned, "" if planned == 1 else "s")


def build_notes_writer(runtime: Runtime, store: Store) -> NotesWriter | None:
    """The notes writer for the running bot; None (and a warning) when the environment lacks the server."""
    from bot.errors import UserError
    from bot.llm_notes import NotesWriter, client_from_env

    try:
        client = client_from_env(runtime.config.notes, runtime.env)
    except UserError as error:
        log.warning("machine-written notes are enabled but cannot run: %s", error)
        return None
    return NotesWriter(store.notes, client, runtime.config.notes, clock=runtime.clock, fulltext=store.fulltext)


def build_fulltext_fetcher(runtime: Runtime, store: Store) -> FullTextFetcher:
    """The full-text fetcher, pointed at ARXIV_WEB_URL (checked: a bad URL is a ConfigError at start)."""
    from bot.fulltext.fetch import FullTextFetcher, resolve_web_url

    return FullTextFetcher(store.fulltext, runtime.config.fulltext, resolve_web_url(runtime.env), clock=runtime.clock)


async def fetch_full_texts(fetcher: FullTextFetcher) -> None:
    """One full-text run after a fetch; its failures are logged and never stop the fetch job."""
    try:
        log.info("%s", (await fetcher.run()).summary())
    except Exception:
        log.exception("fetching full text failed")


async def write_notes(notes: object) -> None:
    """One notes run after a fetch; its failures are logged and never stop the fetch job."""
    try:
        log.info("%s", (await notes.run()).summary())
    except Exception:
        log.exception("writing machine notes failed")


def build_adapters(
    runtime: Runtime,
    router: CommandRouter,
    store: PaperStore,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    on_console_eof: Callable[[], None] | None = None,
) -> dict[str, ChatAdapter]:
    from adapters.console import ConsoleAdapter
    from adapters.webhook import WebhookAdapter

    env = runtime.env
    adapters: dict[str, ChatAdapter] = {"webhook": WebhookAdapter(env)}
    if env.get("SLACK_BOT_TOKEN"):
        from adapters.slack.app import SlackAdapter

        adapters["slack"] = SlackAdapter.from_env(router, runtime.config, env)
    if env.get("DISCORD_TOKEN"):
        from adapters.discord.client import DiscordAdapter

        adapters["discord"] = DiscordAdapter.from_env(router, runtime.config, env, store)
    console_in = stdin if stdin is not None else sys.stdin
    if "slack" not in adapters and "discord" not in adapters and stdin_is_usable(console_in):
        adapters["console"] = ConsoleAdapter(router, stdin=console_in, stdout=stdout, on_eof=on_console_eof)
    return adapters


async def run_bot(
    runtime: Runtime,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    on_step: Callable[[str, DeliveryKey], None] | None = None,
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    show_bars.set(False)  # log lines, not a bar redrawn for minutes over the console's prompt
    exit_status = 0

    def adapter_gave_up(name: str, problem: str) -> None:
        """An adapter that cannot go on (and will not by restarting itself): exit non-zero for a supervisor."""
        nonlocal exit_status
        log.error("the %s adapter stopped for good: %s; stopping paperbot (exit status 1) so a supervisor restarts it", name, problem)
        exit_status = 1
        stop.set()

    if not Path(runtime.db_path).exists():  # a first run: a config mistake must not leave a store file behind
        config = runtime.config
        config.check_subscription_topics([t.name for t in config.topic_list()] + ([example_topic()] if config.example_data else []))
    async with open_store(runtime, serving=True) as store:
        bot = await assemble(runtime, store, stdin=stdin, stdout=stdout, on_console_eof=stop.set, on_step=on_step)
        started: list[ChatAdapter] = []
        # Start-up delivers missed digests; a stop meanwhile must not wait for all of them.
        stopping = asyncio.ensure_future(stop.wait())
        starting: asyncio.Future | None = None
        try:
            for adapter in bot.adapters.values():
                if hasattr(adapter, "on_gave_up"):
                    adapter.on_gave_up = adapter_gave_up
                await adapter.start()
                started.append(adapter)
            starting = asyncio.ensure_future(bot.scheduler.start())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if starting.done():
                starting.result()
                webhooks_used = any(s.channel.adapter == "webhook" for s in await store.subscriptions.subscriptions())
                working = [name for name in bot.adapters if name != "webhook" or webhooks_used]
                log.info("paperbot running with %s; store %s",
                         ", ".join(working) or "nothing to answer or post to (no chat token, no webhook subscription)",
                         runtime.db_path)  # fmt: skip
                await stopping
        finally:
            log.info("stopping")
            await bot.scheduler.shutdown()
            tasks = [task for task in (starting, stopping) if task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for adapter in reversed(started):
                try:
                    await adapter.stop()
                except Exception:
                    log.exception("stopping the %s adapter failed", adapter.name)
            if bot.fetcher is not None:
                bot.fetcher.close()
            if bot.notes is not None:
                await bot.notes.close()
            if bot.fulltext is not None:
                await bot.fulltext.close()
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
    log.info("stopped cleanly" if exit_status == 0 else "stopped")
    return exit_status
