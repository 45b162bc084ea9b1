"""The ports the core needs from the outside world, as Protocols.

`store/` implements `Store`: one object per opened store, made of parts
that are ports of their own (`PaperStore`, `SubscriptionStore`, `NotesStore`, `FullTextStore`,
`LibraryStore`, `VoteStore`),
so each piece of the core is given only the part it uses (the digest engine a
subscription store and a paper store, the notes writer a notes store).
`adapters/` implement `ChatAdapter`, and `Clock` lets tests run weeks of
schedule in milliseconds. The core imports only these, never the concrete
classes: those are found through entry points (`bot.plugins`). What to keep when a paper
arrives again is not a store's choice: every store applies `bot.merge`.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, AsyncIterable, Iterable, Protocol, Sequence

from bot.fulltext.document import FullText
from bot.models import (
    ChannelRef,
    Delivery,
    DeliveryKey,
    DigestReply,
    Figure,
    IdLookup,
    Library,
    Notes,
    Paper,
    Subscription,
    Topic,
    TopicStats,
    UpsertReport,
)

if TYPE_CHECKING:
    from bot.votes import SavedPaper, VoteAction, VoteChange


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class PaperStore(Protocol):
    """Papers, topics and their search index. Every method is safe on any input."""

    async def upsert_papers(self, papers: Iterable[Paper]) -> UpsertReport:
        """Write papers (with their topics and notes) in ONE transaction.

        Rules: keyed by versionless `arxiv_id`; a higher version's metadata wins;
        a copy of lower text quality never overwrites one of higher quality
        (clean > repaired > damaged); topics are added, never removed; notes
        are kept per (lang, source) and a worse-quality copy never replaces a
        better one; a missing `code_url` is filled in, a known one kept unless
        the newer version brings its own; `published` keeps the most precise
        date. Writing the same papers twice reports them `unchanged` and
        changes nothing. Either every paper is written or, on error, none.
        (The rules live in `bot.merge`.)
        """
        ...

    async def bulk_upsert(self, batches: Iterable[Iterable[Paper]] | AsyncIterable[Iterable[Paper]]) -> UpsertReport:
        """Many batches (a snapshot import), one transaction each, by the same rules as `upsert_papers`;
        the batches written before a failing one stay written. Totals of all batches."""
        ...

    async def upsert_topics(self, topics: Iterable[Topic]) -> None:
        """Register or update topic definitions (title, query, categories)."""
        ...

    async def get(self, arxiv_id: str) -> Paper | None:
        """One paper by versionless id, with its topics and notes."""
        ...

    async def latest(self, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Newest first: `published` descending, then `arxiv_id` descending."""
        ...

    async def search(self, query: str, topic: str | None = None, limit: int = 5) -> list[Paper]:
        """Ranked full-text search. Never raises on user input; no terms -> []."""
        ...

    async def topics(self) -> list[TopicStats]:
        """Every known topic (configured or seen on a paper) with its paper count."""
        ...

    async def topic_names(self) -> list[str]:
        """Every known topic's name, sorted: what reading a command and checking a topic need, without counting papers."""
        ...

    async def paper_count(self) -> int: ...

    async def get_meta(self, key: str) -> str | None:
        """Small persistent settings (fetch cursors, command-tree hash, ...)."""
        ...

    async def set_meta(self, key: str, value: str) -> None: ...


class SubscriptionStore(Protocol):
    """Subscriptions and digest deliveries: the durable half of exactly-once."""

    async def subscriptions(self, channel: ChannelRef | None = None) -> list[Subscription]: ...

    async def get_subscription(self, subscription_id: int) -> Subscription | None: ...

    async def save_subscription(self, subscription: Subscription) -> Subscription:
        """Insert or update by (channel, topic); returns it with its id and created_at."""
        ...

    async def remove_subscription(self, channel: ChannelRef, topic: str) -> bool:
        """Delete it with its delivery history (a chat unsubscribe)."""
        ...

    async def retire_subscription(self, channel: ChannelRef, topic: str, at: str) -> bool:
        """Stop it but keep its history; saving it again revives it (gone from, then back in, the config)."""
        ...

    async def set_subscription_failure(self, subscription_id: int, error: str | None, at: str) -> None:
        """Mark failing with a message (kept since the first failure), or clear with None."""
        ...

    async def membership_sequence(self) -> int:
        """The commit-order number of the newest topic membership (0 for none)."""
        ...

    async def digest_candidates(
        self, topic: str, channel_key: str, since: str | None, until: str | None, limit: int,
        *, after_seq: int = 0, upto_seq: int | None = None,
    ) -> tuple[list[Paper], int]:
        """Papers whose membership of `topic` is in (after_seq, upto_seq] and, where given, was added
        in (since, until], never posted to the channel; newest first (published, then id), at most
        `limit`, and how many there are in all."""
        ...

    async def claim_delivery(
        self, key: DeliveryKey, fire_time: str, channel_key: str, paper_ids: tuple[str, ...], total: int,
        state: str = "claimed", until_seq: int | None = None,
    ) -> bool:
        """In ONE transaction: the delivery row (with the membership sequence its content was read up
        to) and the (channel, paper) rows. False if already claimed."""
        ...

    async def record_delivery(self, key: DeliveryKey, message_ids: tuple[str, ...], at: str) -> None: ...

    async def release_delivery(self, key: DeliveryKey) -> None:
        """Undo a claim (its delivery row and its channel-paper rows), so the period can be retried."""
        ...

    async def record_skipped(self, subscription_id: int, period: str, fire_time: str, note: str) -> None: ...

    async def note_delivery_attempt(self, key: DeliveryKey) -> None: ...

    async def delivery(self, subscription_id: int, period: str) -> Delivery | None: ...

    async def last_delivery(self, subscription_id: int, before: str | None = None) -> Delivery | None:
        """The newest claimed, sent or empty delivery with fire_time < before (skipped ones do not count)."""
        ...

    async def pending_deliveries(self) -> list[Delivery]:
        """Claims never recorded as sent: what a crash left behind."""
        ...

    async def deliveries(self, subscription_id: int) -> list[Delivery]:
        """Every delivery of a subscription (skipped ones too), oldest first."""
        ...


class NotesStore(Protocol):
    """What writing machine notes needs besides papers: candidates, failures, a daily budget."""

    async def papers_needing_notes(self, lang: str, topic: str | None = None, limit: int = 100) -> list[Paper]:
        """Papers without usable notes in `lang`: never-tried newest first, then earlier failures."""
        ...

    async def add_notes(self, arxiv_id: str, notes: Notes) -> bool:
        """Store notes beside the paper's others (kept per (lang, source)); False if the paper is unknown."""
        ...

    async def record_notes_failure(self, arxiv_id: str, lang: str, error: str, at: str) -> None:
        """Count a failed attempt on a known paper (with its reason); an unknown paper is ignored."""
        ...

    async def notes_failures(self, lang: str) -> dict[str, tuple[int, str]]:
        """arxiv_id -> (attempts, last error) for each paper whose last attempt in `lang` failed."""
        ...

    async def take_notes_budget(self, day: str, limit: int) -> bool:
        """Count one paper against the UTC `day`'s budget; False when `limit` papers were already counted.
        Safe against other processes taking from the same budget; earlier days' counters are dropped."""
        ...

    async def return_notes_budget(self, day: str) -> None: ...

    async def notes_budget_spent(self, day: str) -> int: ...


class FullTextStore(Protocol):
    """Papers' full text (`bot.fulltext`): one per paper, for its newest fetched version, stored compressed."""

    async def papers_needing_fulltext(self, topic: str | None = None, limit: int = 100) -> list[Paper]:
        """Papers never tried, or whose stored text (or failure) is for an older version; newest first."""
        ...

    async def save_fulltext(self, text: FullText) -> bool:
        """Store it in place of an older version's (never over a newer one's); False if the paper is unknown."""
        ...

    async def record_fulltext_failure(self, arxiv_id: str, version: int, reason: str, at: str) -> None:
        """Remember that this version has no usable full text (not retried until a new version appears)."""
        ...

    async def fulltext(self, arxiv_id: str) -> FullText | None:
        """The stored full text, or None (never fetched, or this version had none)."""
        ...

    async def fulltext_failure(self, arxiv_id: str) -> str | None:
        """Why the stored version has no full text, when it has none after a try."""
        ...

    async def figures(self, arxiv_ids: Iterable[str]) -> dict[str, Figure]:
        """The key figure of each of these papers that has one."""
        ...


class LibraryStore(Protocol):
    """Channel libraries and what ranking by them reads and keeps (`bot.ranking`)."""

    async def library(self, channel: ChannelRef) -> Library | None: ...

    async def libraries(self) -> list[Library]: ...

    async def save_library(self, library: Library) -> Library:
        """Insert or replace the channel's library (a channel has at most one); returns it with `updated_at`."""
        ...

    async def remove_library(self, channel: ChannelRef) -> bool: ...

    async def topic_paper_ids(self, topics: Sequence[str], limit: int) -> list[str]:
        """The ids of the papers `topic_papers` gives, sorted: what a model's fingerprint is made of."""
        ...

    async def topic_papers(self, topics: Sequence[str], limit: int) -> list[Paper]:
        """The papers of any of `topics`, each once, newest first, at most `limit`."""
        ...

    async def papers_by_arxiv_ids(self, arxiv_ids: Sequence[str]) -> list[Paper]:
        """The known papers among `arxiv_ids` (versionless), in that order; unknown ids are left out."""
        ...

    async def sample_papers(self, size: int, seed: int) -> list[Paper]:
        """Up to `size` papers drawn at random from the whole store; the same seed and store give the
        same papers. Costs about the same at any store size (no scan of the store)."""
        ...

    async def store_version(self) -> tuple[int, int]:
        """(newest paper row, newest topic membership): changes whenever a paper or a membership arrives."""
        ...

    async def candidates(
        self, terms: Sequence[str], limit: int, *, topic: str | None = None, since: str | None = None,
        not_shown_in: str | None = None, exclude: Sequence[str] = (),
    ) -> list[Paper]:
        """Papers holding any of `terms`, best search match first (newest matches when very many
        match), then, when fewer than `limit` match, the newest other papers; at most `limit`, all
        in `topic`, published on or after `since`, never claimed for a digest of channel key
        `not_shown_in`, and not in `exclude` (arXiv ids), where given."""
        ...

    async def load_model(self, key: str) -> tuple[str, bytes] | None:
        """A stored ranking model: (its fingerprint text, its bytes), or None."""
        ...

    async def save_model(self, key: str, fingerprint: str, data: bytes) -> None: ...


class VoteStore(Protocol):
    """Votes and saves clicked in chat (`bot.votes` says what they mean)."""

    async def record_vote(self, channel: ChannelRef, arxiv_id: str, user: str, action: VoteAction) -> VoteChange | None:
        """Set the user's vote (👍/👎, one per paper and channel: a switch replaces it) or save; clicking
        the same again changes nothing. None when the paper is not in the store."""
        ...

    async def remove_vote(self, channel: ChannelRef, arxiv_id: str, user: str, action: VoteAction) -> bool:
        """Undo: remove that user's `action` on the paper if it is still theirs; nobody else's is touched."""
        ...

    async def channel_votes(self, channel: ChannelRef) -> list[tuple[str, str, str]]:
        """Every (arxiv_id, user, value) of the channel, value being up, down or save."""
        ...

    async def saved(self, channel: ChannelRef | str, limit: int) -> list[SavedPaper]:
        """The channel's reading list, newest save first; a string matches a channel (or thread) by its id, on
        any platform, or by its `ChannelRef.key`."""
        ...

    async def votes_version(self) -> int:
        """A number that changes whenever any vote or save is made or undone."""
        ...


class Store(Protocol):
    """One opened store: its parts, and closing it (which ends them all)."""

    papers: PaperStore
    subscriptions: SubscriptionStore
    notes: NotesStore
    fulltext: FullTextStore
    libraries: LibraryStore
    votes: VoteStore

    def exclusive(self, job: str) -> AbstractAsyncContextManager[bool]:
        """Held while `job` (the arXiv fetch with its notes) runs: True when this process may run it,
        False while another process sharing the store runs it. A crashed holder's hold ends with it."""
        ...

    async def close(self) -> None: ...


class ArxivLookup(Protocol):
    """Papers from the arXiv API by id or by title, for imports and `/paper add`; the caller writes them.

    Both raise `bot.errors.RemoteError` when arXiv cannot answer (after the
    fetch's retries; at once when it cannot be reached at all)."""

    async def papers_by_id(self, ids: Sequence[str], topic: str = "") -> IdLookup:
        """The papers of versionless `ids` (in `topic`, none for ""); the ids arXiv does not know or refuses."""
        ...

    async def search_title(self, title: str) -> list[Paper]:
        """Candidates for a title (the caller picks the match: `bot.ingest.title_match.best_match`)."""
        ...


class ChatAdapter(Protocol):
    """A chat platform: answers `/paper` requests on its own, posts digests for the scheduler.

    `post_digest` posts a digest reply (it carries its `DigestMark`, which the
    adapter writes as its own marker where the platform keeps one) and returns
    the platform's message ids or raises `bot.errors.DeliveryError`.
    `find_digest` looks for a digest already posted for `key` (after a crash
    between send and record) by that marker alone: the ids when found, [] when
    surely not posted, None when the platform gives no way to check (the
    scheduler then resends once).
    """

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def post_digest(self, subscription: Subscription, reply: DigestReply) -> list[str]: ...

    async def find_digest(self, subscription: Subscription, key: DeliveryKey) -> list[str] | None: ...
