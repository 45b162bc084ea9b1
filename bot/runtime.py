"""What every command and a run share: the `Runtime` and opening its store.

Why apart from `bot.app`: a lookup needs only this, so it imports neither the
composition (scheduler, digest engine, adapter plugins) nor any SDK; it loads
the plugin of its store and nothing else (`bot.plugins`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, AsyncIterator, Mapping

from bot.plugins import Plugins, Sleep
from bot.ports import Clock, FullTextStore, PaperStore, Store, SystemClock
from bot.service import PaperService

if TYPE_CHECKING:  # the config model (pydantic) only where a command loads it: a lookup reads `LookupSettings`
    from bot.config import FileConfig
    from bot.fulltext.fetch import FullTextFetcher
    from bot.ranking import Ranking
    from bot.settings import LookupSettings


@dataclass(frozen=True)
class Runtime:
    """What a run needs besides the config file: where the store is (a path or a URL), the clock,
    the environment, how to wait (tests record the waits instead), and the installed plugins."""

    db_path: str
    config: FileConfig
    clock: Clock = SystemClock()
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    sleep: Sleep = asyncio.sleep
    plugins: Plugins = field(default_factory=Plugins)

    def store_exists(self) -> bool:
        return self.plugins.store(self.db_path).exists(self.db_path)


@contextlib.asynccontextmanager
async def open_store(runtime: Runtime, *, read_only: bool = False, serving: bool = False) -> AsyncIterator[Store]:
    """The store for one command or one run; a store failure the user can fix is a `StoreError`.

    A writable open syncs the config's topics into the store; a `read_only` one
    (lookups) writes nothing at all. `serving`: refuse when another `paperbot run`
    serves this store.
    """
    async with open_location(runtime.plugins, runtime.db_path, runtime.clock, read_only=read_only, serving=serving) as store:
        if not read_only:
            await store.papers.upsert_topics(runtime.config.topic_list())
        yield store


@contextlib.asynccontextmanager
async def open_location(
    plugins: Plugins, location: str, clock: Clock, *, read_only: bool = False, serving: bool = False
) -> AsyncIterator[Store]:
    """The store at `location` through its plugin, closed after: what a lookup opens without the config model."""
    store = await plugins.store(location).open(location, clock=clock, read_only=read_only, serving=serving)
    try:
        yield store
    finally:
        await store.close()


def build_service(store: PaperStore, config: FileConfig | LookupSettings, fulltext: FullTextStore | None = None) -> PaperService:
    return PaperService(store, tldr_lang=config.tldr_lang, fulltext=fulltext)


def build_ranking(
    service: PaperService, store: Store, config: FileConfig | LookupSettings, *, save_models: bool = True
) -> Ranking:
    """Libraries and their models; `save_models=False` for a read-only store (models are used, not kept)."""
    from bot.ranking import Ranking

    return Ranking(service, store.libraries, save_models=save_models, config_source=config.source, votes=store.votes)


def build_fulltext_fetcher(runtime: Runtime, store: Store) -> FullTextFetcher:
    """The full-text fetcher, pointed at ARXIV_WEB_URL (checked: a bad URL is a ConfigError at start)."""
    from bot.fulltext.fetch import FullTextFetcher, resolve_web_url  # its HTTP client, only where it is used

    return FullTextFetcher(store.fulltext, runtime.config.fulltext, resolve_web_url(runtime.env), clock=runtime.clock)
