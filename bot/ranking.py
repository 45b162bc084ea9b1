"""Ranking by a channel's taste: its library, the model trained on it, and the answers that use it.

Why this exists: `bot.rank` is pure (papers in, scores and why lines out).
This module decides which papers a library is made of, when its model is
retrained, where models are kept, and answers `similar`, `recommend`,
`/paper library` and ranked digests from the store.

- A channel's library is the papers of its topics (a reading list imported as
  a topic), the newest `LIBRARY_LIMIT` of them. A model is keyed by its
  topics, so channels with the same library share one, and
  `paperbot recommend --library NAME` uses the model the bot keeps.
- Negatives are a seeded random sample of the store (`LibraryStore.sample_papers`),
  drawn once per store size bucket and shared by every model. A library of
  1-3 papers, and the papers `similar` is asked about, are ranked by
  similarity with the sample's word statistics (`bot.rank.background`).
- A model is retrained only when its fingerprint changes: the library's
  papers, or the store's size bucket. The fingerprint is looked at only when
  the store changed since the last look (a new paper or topic membership), so
  planning a thousand digests reads each library's ids at most once.
- Models are kept in memory and in the store (bytes with their fingerprint):
  a restart restores them instead of retraining.
- Whole-store candidates (`similar`, `recommend`) come from the search index:
  papers holding any of the model's `QUERY_TERMS` strongest words, the
  `CANDIDATES` best matches, which the model then re-ranks.

- Votes (`bot.votes`): a channel's 👍/🔖 papers are more positives of its
  library, its 👎 papers explicit negatives (taken out of the positives when a
  topic brought them in). A channel with votes has its own model (the key
  adds the channel), retrained when its votes change (they are in the
  fingerprint); one without votes shares its topics' model. Votes alone, with
  no library set, are a library too.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import date
from types import ModuleType
from typing import TYPE_CHECKING, Iterable, Sequence

from bot.arxiv_ids import parse_arxiv_id
from bot.errors import StoreError, UserError
from bot.models import ChannelRef, Library, Paper
from bot.ports import LibraryStore, VoteStore
from bot.service import PaperService, check_count
from bot.votes import ChannelVotes, combine

if TYPE_CHECKING:
    from bot.rank import Background, Fingerprint, Ranked, RankModel, RankSettings

log = logging.getLogger(__name__)

LIBRARY_LIMIT = 5000  # a library's newest papers; more would only slow retraining down
CANDIDATES = 100  # whole-store papers re-ranked per similar/recommend answer (each is read and cut into terms)
QUERY_TERMS = 12  # words of the model the candidate search asks for
SAMPLE_SEED = 0
MAX_ASKED = 20  # papers one `similar` may name
_TOPIC_SEPARATORS = re.compile(r"[\s,]+")


def _ranker() -> ModuleType:
    """`bot.rank`, imported at first use: a bot whose channels have no library never pays for scikit-learn."""
    import bot.rank

    return bot.rank


def model_key(topics: Iterable[str]) -> str:
    """The stored model's name for a library of these topics (order and repeats do not matter)."""
    return "topics:" + ",".join(sorted(set(topics)))


@dataclass(frozen=True)
class Taste:
    """A library's model and what it is made of, for `/paper library`."""

    topics: tuple[str, ...]
    model: RankModel
    sources: tuple[tuple[str, int], ...]  # (where papers come from, how many): ("topic reading-list", 42)
    library: Library | None = None
    votes: ChannelVotes = ChannelVotes()


@dataclass(frozen=True)
class SimilarAnswer:
    """What `similar` found: the asked papers it knows, the ids it could not use, the ranked papers."""

    asked: tuple[Paper, ...]
    ranked: tuple[Ranked, ...]
    unknown: tuple[str, ...] = ()  # arXiv ids the store does not have
    invalid: tuple[str, ...] = ()  # words that are no arXiv id


@dataclass
class _Known:
    model: RankModel
    version: tuple[int, int, int]  # the store and votes version the fingerprint was last checked at


@dataclass
class _Statistics:
    """The store sample and its word statistics, for one store size bucket."""

    bucket: int
    sample: list[Paper]
    background: Background | None = None


class Ranking:
    """Libraries and their models, over the paper service and the store's `LibraryStore` part."""

    def __init__(
        self, service: PaperService, libraries: LibraryStore, *, settings: RankSettings | None = None,
        save_models: bool = True, config_source: str = "the config file", votes: VoteStore | None = None,
    ) -> None:  # fmt: skip
        self.service = service
        self.libraries = libraries
        self.votes = votes
        self._channel_votes: dict[str, tuple[int, ChannelVotes]] = {}
        self._settings = settings
        self.save_models = save_models  # False for a read-only store (CLI lookups): models are used, not kept
        self.config_source = config_source
        self._models: dict[str, _Known] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._statistics: _Statistics | None = None
        self._sizes: dict[tuple[int, int], int] = {}

    @property
    def settings(self) -> RankSettings:
        return self._settings or _ranker().DEFAULT_SETTINGS

    # --- libraries --------------------------------------------------------------------------

    async def library(self, channel: ChannelRef) -> Library | None:
        return await self.libraries.library(channel)

    async def use_library(self, channel: ChannelRef, topics_text: str, user: str = "") -> Library:
        """Make the papers of these topics the channel's library (replacing any it had)."""
        topics = await self.check_topics(topics_text)
        await self._refuse_if_from_config(channel)
        saved = await self.libraries.save_library(Library(channel, topics, "chat", user))
        log.info("library of %s: %s (set by %s)", channel.key, ", ".join(topics), user or "?")
        return saved

    async def stop_library(self, channel: ChannelRef) -> None:
        await self._refuse_if_from_config(channel)
        if not await self.libraries.remove_library(channel):
            raise UserError("This channel has no library.", "Set one with /paper library use <topic>.")
        log.info("library of %s removed", channel.key)

    async def check_topics(self, text: str) -> tuple[str, ...]:
        names = [name for name in _TOPIC_SEPARATORS.split(text) if name]
        if not names:
            raise UserError(
                "Name the topic whose papers stand for this channel's interests.",
                "e.g. /paper library use our-reading-list (import a reading list with `paperbot import FILE --topic NAME`).",
            )
        checked = [await self.service.check_topic(name) for name in names]
        return tuple(dict.fromkeys(name for name in checked if name))

    async def _refuse_if_from_config(self, channel: ChannelRef) -> None:
        current = await self.libraries.library(channel)
        if current is not None and current.source == "config":
            raise UserError(
                f"This channel's library ({', '.join(current.topics)}) is set in the config file {self.config_source}.",
                "Change the `library` of its [[subscriptions]] entry there and restart the bot.",
            )

    async def sync_config(self, configured: Iterable[Library]) -> None:
        """Make the store's config-set libraries match the file (only `run` does this); chat ones are
        left alone, except where the file now sets that channel's library."""
        wanted = {library.channel.key: library for library in configured}
        for current in await self.libraries.libraries():
            if current.source == "config" and current.channel.key not in wanted:
                await self.libraries.remove_library(current.channel)
                log.info("library of %s removed (no longer in the config)", current.channel.key)
        existing = {library.channel.key: library for library in await self.libraries.libraries()}
        for key, library in wanted.items():
            before = existing.get(key)
            if before is None or (before.topics, before.source) != (library.topics, "config"):
                await self.libraries.save_library(Library(library.channel, library.topics, "config"))
                log.info("library of %s from config: %s", key, ", ".join(library.topics))

    # --- models -----------------------------------------------------------------------------

    async def taste(self, channel: ChannelRef) -> Taste | None:
        """The channel's library with its model and sources; None when it has none."""
        library = await self.libraries.library(channel)
        votes = await self.channel_votes(channel)
        if library is None and not votes:
            return None
        topics = library.topics if library is not None else ()
        model = await self.model_of(topics, channel)
        return Taste(topics, model, tuple(await self.sources(topics, votes)), library, votes)

    async def sources(self, topics: Sequence[str], votes: ChannelVotes | None = None) -> list[tuple[str, int]]:
        """Where a library's papers come from, and how many each gives: ("topic reading-list", 42)."""
        found = [(f"topic {topic}", len(await self.libraries.topic_paper_ids([topic], LIBRARY_LIMIT))) for topic in topics]
        if votes:
            found += [
                ("👍/🔖 from this channel", len(votes.positives)),
                ("👎 from this channel (negatives)", len(votes.negatives)),
            ]
        return found

    async def channel_votes(self, channel: ChannelRef | None) -> ChannelVotes:
        """The channel's votes combined per paper (`bot.votes.combine`); read again only after a vote anywhere."""
        if channel is None or self.votes is None:
            return ChannelVotes()
        version = await self.votes.votes_version()
        known = self._channel_votes.get(channel.key)
        if known is None or known[0] != version:
            known = (version, combine(await self.votes.channel_votes(channel)))
            self._channel_votes[channel.key] = known
        return known[1]

    async def channel_model(self, channel: ChannelRef) -> RankModel | None:
        """The model a digest in this channel is ranked by; None without a library or anything to learn."""
        library = await self.libraries.library(channel)
        if library is None and not await self.channel_votes(channel):
            return None
        model = await self.model_of(library.topics if library is not None else (), channel)
        return None if model.empty else model

    async def model_of(self, topics: Sequence[str], channel: ChannelRef | None = None) -> RankModel:
        """The model of a library of these topics (and `channel`'s votes): from memory, from the store, or trained now."""
        votes = await self.channel_votes(channel)
        # Only a channel with votes needs a model of its own; the others share their topics'.
        key = model_key(topics) + (f"|votes:{channel.key}" if votes and channel is not None else "")
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            # The version `channel_votes` read these votes at, not a second read of it.
            votes_version = self._channel_votes[channel.key][0] if votes and channel is not None else 0
            version = (*await self.libraries.store_version(), votes_version)
            known = self._models.get(key)
            if known is not None and known.version == version:
                return known.model
            negatives = set(votes.negatives)
            topic_ids = await self.libraries.topic_paper_ids(sorted(set(topics)), LIBRARY_LIMIT)
            library_ids = sorted((set(topic_ids) | set(votes.positives)) - negatives)
            size = await self._store_size(version[:2])
            fingerprint = _ranker().Fingerprint.of(library_ids, size, negatives)
            if known is not None and known.model.fingerprint == fingerprint:
                model = known.model
            else:
                model = await self._stored(key, fingerprint) or await self._train(key, sorted(set(topics)), size, votes)
            self._models[key] = _Known(model, version)
            return model

    async def _stored(self, key: str, fingerprint: Fingerprint) -> RankModel | None:
        stored = await self.libraries.load_model(key)
        if stored is None or stored[0] != fingerprint.text:
            return None
        rank = _ranker()
        try:
            model: RankModel = rank.RankModel.from_bytes(stored[1])
            return model
        except rank.ModelFormatError as error:
            log.info("stored ranking model %s is unusable (%s); retraining", key, error)
            return None

    async def _train(self, key: str, topics: list[str], size: int, votes: ChannelVotes) -> RankModel:
        negatives = set(votes.negatives)
        library = [paper for paper in await self.libraries.topic_papers(topics, LIBRARY_LIMIT) if paper.arxiv_id not in negatives]
        known = {paper.arxiv_id for paper in library}
        library += await self.libraries.papers_by_arxiv_ids([a for a in votes.positives if a not in known])
        model = await self._trained(library, size, await self.libraries.papers_by_arxiv_ids(votes.negatives))
        log.info("ranking model %s trained: %s on %s", key, model.kind, model.counts)
        if self.save_models:
            try:
                await self.libraries.save_model(key, model.fingerprint.text, model.to_bytes())
            except StoreError as error:  # a full disk: the model still serves this process
                log.warning("ranking model %s not saved (%s); it is retrained after a restart", key, error.message)
        return model

    async def _trained(self, library: Sequence[Paper], size: int, negatives: Sequence[Paper] = ()) -> RankModel:
        """A model of `library` (papers of topics, or named in a request): similarity for a few, a classifier for more."""
        rank = _ranker()
        if len(library) < self.settings.min_classifier_library:
            similar: RankModel = rank.train_similar(library, await self._background(size), negatives)
            return similar
        sample = await self._sample(size)
        background = await self._background(size)
        # A second or so of numpy and scikit-learn: off the event loop, so chat stays answered.
        learned: RankModel = await asyncio.to_thread(
            rank.train, library, sample, negatives, store_size=size, seed=SAMPLE_SEED, settings=self.settings,
            known_terms=background.names,
        )  # fmt: skip
        return learned

    async def _store_size(self, version: tuple[int, int]) -> int:
        if version not in self._sizes:
            self._sizes = {version: await self.service.store.paper_count()}
        return self._sizes[version]

    async def _sample(self, size: int) -> list[Paper]:
        bucket = _ranker().store_bucket(size)
        if self._statistics is None or self._statistics.bucket != bucket:
            sample = await self.libraries.sample_papers(self.settings.sample_size, SAMPLE_SEED)
            self._statistics = _Statistics(bucket, sample)
        return self._statistics.sample

    async def _background(self, size: int) -> Background:
        sample = await self._sample(size)
        statistics = self._statistics
        assert statistics is not None
        if statistics.background is None:
            fitted: Background = await asyncio.to_thread(_ranker().Background.fit, sample, size)
            statistics.background = fitted
            return fitted
        return statistics.background

    # --- answers ----------------------------------------------------------------------------

    async def similar(self, refs: Sequence[str], topic: str | None = None, count: int | None = None) -> SimilarAnswer:
        """The store's papers most like the given ones taken together, best first; never the given ones."""
        limit = check_count(count)
        topic = await self.service.check_topic(topic)
        if not refs:
            raise UserError("similar needs a paper id.", "e.g. /paper similar 2505.20665; several ids are taken together.")
        invalid = [ref for ref in refs if parse_arxiv_id(ref) is None]
        ids = list(dict.fromkeys(parsed.arxiv_id for ref in refs if (parsed := parse_arxiv_id(ref)) is not None))
        if len(ids) > MAX_ASKED:
            raise UserError(f"similar takes at most {MAX_ASKED} papers (got {len(ids)}).", "Name the few that matter most.")
        asked = await self.libraries.papers_by_arxiv_ids(ids)
        known = {paper.arxiv_id for paper in asked}
        unknown = [arxiv_id for arxiv_id in ids if arxiv_id not in known]
        if not asked:
            named = ", ".join(unknown + invalid)
            raise UserError(
                f"None of these papers is in the store: {named}.",
                "Give arXiv ids of stored papers, e.g. /paper similar 2505.20665; find some with /paper search <words>.",
            )
        ranked = await self.similar_to(asked, topic, limit)
        return SimilarAnswer(tuple(asked), tuple(ranked), tuple(unknown), tuple(invalid))

    async def similar_to(self, papers: Sequence[Paper], topic: str | None, limit: int) -> list[Ranked]:
        """The store's `limit` papers most like `papers` (stored ones) taken together, in `topic` if given."""
        model = await self._trained(papers, await self._store_size(await self.libraries.store_version()))
        exclude = [paper.arxiv_id for paper in papers]
        candidates = await self.libraries.candidates(model.query_terms(QUERY_TERMS), CANDIDATES, topic=topic, exclude=exclude)
        ranked: list[Ranked] = model.rank(candidates, limit=limit, exclude_library=True)
        return ranked


    async def recommend(
        self, topics: Sequence[str], *, channel: ChannelRef | None = None, topic: str | None = None,
        since: str | None = None, count: int | None = None, channel_votes: bool = True,
    ) -> tuple[RankModel, list[Ranked]]:  # fmt: skip
        """The library's best papers from the whole store, never its own, nor any `channel` was shown;
        with the channel's votes unless `channel_votes` is False (a library named in the request)."""
        limit = check_count(count)
        topic = await self.service.check_topic(topic)
        if since is not None:
            since = _check_date(since)
        votes_of = channel if channel_votes else None
        model = await self.model_of(topics, votes_of)
        if model.empty:
            names = ", ".join(topics)
            raise UserError(
                f"The library ({names}) has no papers with text to learn from yet.",
                f"Import a reading list into it: `paperbot import FILE --topic {topics[0]}`.",
            )
        candidates = await self.libraries.candidates(
            model.query_terms(QUERY_TERMS), CANDIDATES, topic=topic, since=since,
            not_shown_in=channel.key if channel else None,
            exclude=sorted(model.library_ids | set((await self.channel_votes(votes_of)).negatives)),
        )  # fmt: skip
        return model, model.rank(candidates, limit=limit, exclude_library=True)


def _check_date(text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise UserError(f"'{text[:30]}' is not a date.", "Give it as YYYY-MM-DD, e.g. --since 2025-06-01.") from None
