"""Composition root: `assemble` builds the bot, `Bot.running()` starts and stops it, `run_bot` is `paperbot run`.

`assemble` builds every object once, complete, in dependency order; nothing is
patched afterwards:

    store (opened by the caller) -> paper service -> digest planner ->
    subscription service (synced with the config file) -> notes writer,
    full-text fetcher, question asker -> command router -> adapters (found
    through `bot.plugins`) -> digest engine (delivers through them) -> arXiv
    fetch job -> scheduler

Two notices cross that order the other way, each handed to both ends when they
are built: `SubscriptionChanges` (a chat subscription change makes the
scheduler rebuild its jobs) and `StopRequest` (the console's end of input, an
adapter that gave up, or a signal ends the run).

Which adapters run: Slack when `SLACK_BOT_TOKEN` is set, Discord when
`DISCORD_TOKEN` is set (each a `chat` plugin with its token variable), the
`webhook` adapter always (it only posts digests, through the installed
webhook posters), and the console when no chat adapter runs and standard
input is a terminal, a pipe or a file (not /dev/null, as under `docker run -d`).

`Bot.running()` starts the adapters in order, then the scheduler (reconcile,
catch-up; a stop meanwhile does not wait for all of that); on leaving it stops
the scheduler first (the digest being posted gets its grace), then the
adapters in reverse, then the fetchers and the notes writer. `paperbot run` and
the test harnesses use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable, Iterator, Mapping, NamedTuple, TextIO

from bot.commands import CommandRouter
from bot.digest import DigestEngine, DigestPlanner
from bot.errors import ConfigError, UserError
from bot.ingest.paperlist import import_paperlist, parse_paperlist
from bot.models import DeliveryKey, Topic
from bot.plugins import AdapterContext, AdapterPlugin, needs_extra, shown_location
from bot.ports import ChatAdapter, PaperStore, Store
from bot.progress import show_bars
from bot.runtime import Runtime, build_fulltext_fetcher, build_ranking, build_service, open_store
from bot.scheduler import BotScheduler, ScheduledFetch, SubscriptionChanges
from bot.service import PaperService
from bot.subscriptions import SubscriptionService
from bot.webhooks import WebhookAdapter, WebhookRoute

if TYPE_CHECKING:  # built lazily: their HTTP and model clients load only where they run
    from bot.fulltext.fetch import FullTextFetcher
    from bot.ingest.arxiv import ArxivFetcher
    from bot.llm_notes import NotesWriter
    from bot.ranking import Ranking

__all__ = [
    "Bot", "Runtime", "StopRequest", "assemble", "build_digest_core", "build_fulltext_fetcher", "build_service",
    "open_store", "run_bot",
]

log = logging.getLogger("paperbot")

EXAMPLE_LIST = "data/example-paper-list.md"


def example_topic() -> str:
    """The topic the example paper list is imported under."""
    data = resources.files("bot").joinpath(EXAMPLE_LIST).read_bytes()
    return parse_paperlist(data, EXAMPLE_LIST).topic.name


async def seed_example_data(store: PaperStore) -> None:
    """An empty store gets the project's example paper list, so day one is not a blank screen."""
    if await store.paper_count():
        return
    with resources.as_file(resources.files("bot").joinpath(EXAMPLE_LIST)) as path:
        report = await import_paperlist(store, Path(path))
    log.info("empty store: imported the example paper list (%d papers, topic %s)", report.stored.new, report.topic.name)


class StopRequest:
    """How the parts of a running bot ask it to stop, and the exit status `paperbot run` ends with."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.exit_status = 0

    def stop(self) -> None:
        self.requested.set()

    def adapter_gave_up(self, name: str, problem: str) -> None:
        """An adapter that cannot go on (and will not by restarting itself): exit non-zero for a supervisor."""
        log.error(
            "the %s adapter stopped for good: %s; stopping paperbot (exit status 1) so a supervisor restarts it", name, problem
        )
        self.exit_status = 1
        self.stop()

    async def wait(self) -> None:
        await self.requested.wait()


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
    stop: StopRequest
    where: str  # the store's location as logs may show it
    fetcher: ArxivFetcher | None = None
    notes: NotesWriter | None = None  # when [notes] is enabled and usable
    fulltext: FullTextFetcher | None = None  # full text for notes, questions and key figures
    ranking: Ranking | None = None  # channel libraries and their models

    @contextlib.asynccontextmanager
    async def running(self, *, schedule: bool = True) -> AsyncIterator[Bot]:
        """Start the adapters, then (with `schedule`) the scheduler; stop everything on leaving."""
        started: list[ChatAdapter] = []
        # Start-up delivers missed digests; a stop meanwhile must not wait for all of them.
        stopping = asyncio.ensure_future(self.stop.wait())
        starting: asyncio.Future | None = None
        try:
            for adapter in self.adapters.values():
                await adapter.start()
                started.append(adapter)
            if schedule:
                starting = asyncio.ensure_future(self.scheduler.start())
                await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if starting.done():
                    starting.result()
            if not self.stop.requested.is_set():
                await self._log_running()
            yield self
        finally:
            log.info("stopping")
            await self.scheduler.shutdown()
            tasks = [task for task in (starting, stopping) if task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for adapter in reversed(started):
                try:
                    await adapter.stop()
                except Exception:
                    log.exception("stopping the %s adapter failed", adapter.name)
            if self.fetcher is not None:
                self.fetcher.close()
            if self.notes is not None:
                await self.notes.close()
            if self.fulltext is not None:
                await self.fulltext.close()

    async def _log_running(self) -> None:
        webhooks_used = any(s.channel.adapter == "webhook" for s in await self.store.subscriptions.subscriptions())
        working = [name for name in self.adapters if name != "webhook" or webhooks_used]
        log.info("paperbot running with %s; store %s",
                 ", ".join(working) or "nothing to answer or post to (no chat token, no webhook subscription)",
                 self.where)  # fmt: skip


class DigestCore(NamedTuple):
    service: PaperService
    planner: DigestPlanner
    subscriptions: SubscriptionService
    ranking: Ranking


async def build_digest_core(
    runtime: Runtime, store: Store, *, sync_config: bool = True, on_change: Callable[[], Awaitable[None]] | None = None,
) -> DigestCore:
    """The service, the channel libraries, the digest planner that ranks by them and the subscriptions
    (telling `on_change` of every change), synced with the config file when `sync_config` (only `run`
    syncs; `status` reads the store as it is)."""
    config = runtime.config
    service = build_service(store.papers, config, store.fulltext)
    topics = {item.topic.name: item.topic for item in await store.papers.topics()}
    ranking = build_ranking(service, store, config, save_models=sync_config)
    planner = DigestPlanner(store.subscriptions, store.papers, topics, clock=runtime.clock, ranker=ranking)
    subscriptions = SubscriptionService(
        service, planner, default_timezone=config.timezone, default_language=config.tldr_lang,
        default_when=config.digest.default_when,
        on_change=on_change, config_source=config.source, configured=config.subscription_list(),
    )
    if sync_config:
        config.check_subscription_topics(topics)
        await subscriptions.sync_config()
        await ranking.sync_config(config.library_list())
    return DigestCore(service, planner, subscriptions, ranking)


async def assemble(
    runtime: Runtime,
    store: Store,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    on_step: Callable[[str, DeliveryKey], None] | None = None,
    stop: StopRequest | None = None,
) -> Bot:
    """The whole bot over an opened store, every object complete (see the module docstring for the order)."""
    config = runtime.config
    stop = stop or StopRequest()
    if config.example_data:
        await seed_example_data(store.papers)
    changes = SubscriptionChanges()
    service, planner, subscriptions, ranking = await build_digest_core(runtime, store, on_change=changes.notify)
    notes = build_notes_writer(runtime, store) if config.notes.enabled else None
    fulltext = build_fulltext_fetcher(runtime, store) if config.fulltext.enabled else None
    asker = None
    if notes is not None:
        from bot.ask import PaperAsker

        asker = PaperAsker(notes, store.fulltext, fulltext)
    # The scheduled fetch's fetcher is also `/paper add`'s: one limiter spaces every request to arXiv.
    fetch = FetchJob.build(runtime, store.papers, planner, notes, fulltext) if config.fetch.enabled else None
    router = CommandRouter(service, subscriptions, asker=asker, arxiv=fetch.fetcher if fetch else None, ranking=ranking)
    context = AdapterContext(
        router, store.papers, config, runtime.env, runtime.sleep,
        stdin=stdin, stdout=stdout, on_eof=stop.stop, on_gave_up=stop.adapter_gave_up,
    )
    adapters = build_adapters(runtime.plugins.adapters(), context)
    await subscriptions.report_undeliverable(runtime.env, adapters)
    engine = DigestEngine(
        store.subscriptions, store.papers, adapters, planner.topics, clock=runtime.clock,
        max_lateness=timedelta(hours=config.digest.max_lateness_hours),
        stop_grace=timedelta(seconds=config.digest.stop_grace_seconds), on_step=on_step, fulltext=store.fulltext,
        ranker=ranking,
    )
    scheduled_fetch = (
        ScheduledFetch(one_process_at_a_time(store, "fetch", fetch.run), config.fetch_schedule(), fetch.oldest_fetch)
        if fetch else None
    )
    scheduler = BotScheduler(engine, changes=changes, fetch=scheduled_fetch)
    return Bot(
        store, service, engine, subscriptions, router, scheduler, adapters, stop, shown_location(runtime.db_path),
        fetch.fetcher if fetch else None, notes, fulltext, ranking,
    )


def one_process_at_a_time(store: Store, job: str, run: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """`run`, skipped while another process sharing the store (a replica) runs the same job."""

    async def guarded() -> None:
        async with store.exclusive(job) as ours:
            if not ours:
                log.info("%s: another paperbot process sharing the store is running it; skipped here", job)
                return
            await run()

    return guarded


def build_adapters(plugins: Mapping[str, AdapterPlugin], context: AdapterContext) -> dict[str, ChatAdapter]:
    """The `webhook` adapter over every webhook poster that can run here, each chat adapter whose
    token is set (its SDK missing is a `ConfigError`), and the console when no chat adapter runs."""
    routes = []
    for name, plugin in plugins.items():
        if plugin.role == "webhook":
            try:
                routes.append(WebhookRoute(name, plugin.claims, plugin.load(name)(context)))
            except ConfigError as error:  # only a webhook subscription of that platform needs it: its delivery says so
                routes.append(WebhookRoute(name, plugin.claims, None, f"{error.message} {error.hint}"))
    adapters: dict[str, ChatAdapter] = {"webhook": WebhookAdapter(context.env, routes)}
    for name, plugin in plugins.items():
        if plugin.wanted(context.env):
            adapters[name] = plugin.load(name)(context)
    if not any(plugin.wanted(context.env) for plugin in plugins.values()):
        for name, plugin in plugins.items():
            if plugin.role == "console" and plugin.usable(context):
                adapters[name] = plugin.load(name)(context)
    return adapters


def check_chat_adapters_load(runtime: Runtime) -> None:
    """Each chat adapter whose token is set can be loaded (its extra is installed): a `ConfigError` if not,
    before `run` creates or changes anything."""
    for name, plugin in runtime.plugins.adapters().items():
        if plugin.wanted(runtime.env):
            plugin.load(name)


def build_notes_writer(runtime: Runtime, store: Store) -> NotesWriter | None:
    """The notes writer for the running bot; None (and a warning) when it cannot run here."""
    try:
        with needs_extra("llm", "writing machine notes", runtime.config.source, "[notes] enabled"):
            from bot.llm_notes import NotesWriter, client_from_env
        client = client_from_env(runtime.config.notes, runtime.env)
    except UserError as error:
        log.warning("machine-written notes are enabled but cannot run: %s", error)
        return None
    return NotesWriter(store.notes, client, runtime.config.notes, clock=runtime.clock, fulltext=store.fulltext)


@dataclass(frozen=True)
class FetchJob:
    """The scheduled arXiv fetch of the topics with a query (configured, or made in chat from `terms`),
    then (for machine notes) the new papers' full text and their notes, then the ranked digests planned
    ahead so their papers are cut into terms before the digests fire."""

    fetcher: ArxivFetcher
    runtime: Runtime
    papers: PaperStore
    planner: DigestPlanner
    notes: NotesWriter | None
    fulltext: FullTextFetcher | None

    @classmethod
    def build(
        cls, runtime: Runtime, papers: PaperStore, planner: DigestPlanner, notes: NotesWriter | None,
        fulltext: FullTextFetcher | None,
    ) -> FetchJob:
        from bot.ingest.arxiv import ArxivFetcher, resolve_api_url

        config = runtime.config
        fetcher = ArxivFetcher(papers, config.fetch, resolve_api_url(config), clock=runtime.clock)
        return cls(fetcher, runtime, papers, planner, notes, fulltext)

    async def topics(self) -> list[Topic]:
        from bot.ingest.arxiv import topics_to_fetch

        return topics_to_fetch(self.runtime.config, [stats.topic for stats in await self.papers.topics()])

    async def run(self) -> None:
        fetched = await self.fetcher.fetch_topics(await self.topics())  # it logs each topic's outcome itself
        if not fetched:
            return
        # New papers get their full text, then their notes, before the next digest; a failure of
        # any step is logged and never stops the fetch job.
        if self.notes is not None:
            if self.fulltext is not None:
                try:
                    log.info("%s", (await self.fulltext.run()).summary())
                except Exception:
                    log.exception("fetching full text failed")
            try:
                log.info("%s", (await self.notes.run()).summary())
            except Exception:
                log.exception("writing machine notes failed")
        await prepare_ranked_digests(self.planner)

    async def oldest_fetch(self) -> datetime | None:
        from bot.ingest.arxiv import last_fetch

        times = [await last_fetch(self.papers, topic) for topic in await self.topics()]
        known = [time for time in times if time is not None]
        return min(known, default=self.runtime.clock.now()) if len(known) == len(times) else None


async def prepare_ranked_digests(planner: DigestPlanner) -> None:
    """After new papers arrive: plan the ranked digests once, so their papers are cut into terms
    (cached) now and not when the digest fires. A failure only costs that speed."""
    try:
        planned = await planner.plan_ranked()
    except Exception:
        log.exception("preparing ranked digests failed; they are ranked from scratch when they fire")
        return
    if planned:
        log.info("prepared %d ranked digest%s", planned, "" if planned == 1 else "s")


@contextlib.contextmanager
def stop_on_signals(stop: StopRequest) -> Iterator[None]:
    """SIGTERM and SIGINT request a clean stop while the block runs."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.stop)
    try:
        yield
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


async def run_bot(
    runtime: Runtime,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    on_step: Callable[[str, DeliveryKey], None] | None = None,
) -> int:
    """`paperbot run`: the serving store, the assembled bot, running until a stop is requested; the exit status."""
    stop = StopRequest()
    show_bars.set(False)  # log lines, not a bar redrawn for minutes over the console's prompt
    with stop_on_signals(stop):
        check_chat_adapters_load(runtime)
        if not runtime.store_exists():  # a first run: a config mistake must not leave a store file behind
            config = runtime.config
            topics = [t.name for t in config.topic_list()] + ([example_topic()] if config.example_data else [])
            config.check_subscription_topics(topics)
        async with open_store(runtime, serving=True) as store:
            bot = await assemble(runtime, store, stdin=stdin, stdout=stdout, on_step=on_step, stop=stop)
            async with bot.running():
                await stop.wait()
    log.info("stopped cleanly" if stop.exit_status == 0 else "stopped")
    return stop.exit_status
