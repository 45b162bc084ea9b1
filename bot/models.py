"""The neutral data model every part of paperbot speaks.

Adapters, the store and the ingesters exchange these frozen dataclasses and
nothing platform-specific: a `Reply` is data (cards, sections, lines), never
markup, so each adapter can render it natively and inside its own limits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union

from bot import plaintext

ABS_URL = "https://arxiv.org/abs/{id}"
PDF_URL = "https://arxiv.org/pdf/{id}"


class TextQuality(str, enum.Enum):
    """How trustworthy a paper's text is after mojibake repair."""

    CLEAN = "clean"
    REPAIRED = "repaired"
    DAMAGED = "damaged"

    @property
    def rank(self) -> int:
        """Higher is better: a copy may only replace one of equal or lower rank."""
        return {"clean": 2, "repaired": 1, "damaged": 0}[self.value]


NOTE_FIELDS = ("headline", "motivation", "method", "results", "takeaways")


@dataclass(frozen=True)
class Notes:
    """Structured reading notes on one paper, in one language, from one source.

    `source` is "paperlist" for notes imported from a paper-list file and
    "llm" for notes a language model wrote; `origin` names the file or model.
    """

    lang: str
    headline: str | None = None
    motivation: str | None = None
    method: str | None = None
    results: str | None = None
    takeaways: str | None = None
    source: str = "paperlist"
    origin: str = ""
    text_quality: TextQuality = TextQuality.CLEAN
    created_at: str | None = None
    # What a model read to write them: "full_text" or "abstract" (None for notes from a paper list).
    basis: str | None = None

    @property
    def machine_written(self) -> bool:
        return self.source == "llm"

    def as_dict(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in NOTE_FIELDS}

    def is_empty(self) -> bool:
        return not any(self.as_dict().values())


@dataclass(frozen=True)
class Paper:
    """One arXiv paper, keyed by its versionless id (`2506.03517`, `hep-th/9901001`).

    `published` is the first version's date, `YYYY-MM-DD` when known or
    `YYYY-MM` when only the month is (paper lists give `[25/06]`).
    `added_at` is when the paper entered the store (ISO 8601, UTC); the store
    sets it and ignores any value passed in.
    """

    arxiv_id: str
    title: str
    version: int = 1
    abstract: str = ""
    authors: tuple[str, ...] = ()
    published: str = ""
    updated: str | None = None
    categories: tuple[str, ...] = ()
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    code_url: str | None = None
    text_quality: TextQuality = TextQuality.CLEAN
    topics: tuple[str, ...] = ()
    notes: tuple[Notes, ...] = ()
    added_at: str | None = None

    @property
    def url(self) -> str:
        return ABS_URL.format(id=self.arxiv_id)

    @property
    def pdf_url(self) -> str:
        return PDF_URL.format(id=f"{self.arxiv_id}v{self.version}")

    def notes_in(self, lang: str) -> Notes | None:
        """The best notes in `lang`: human-imported before machine-written, clean first."""
        candidates = [n for n in self.notes if n.lang == lang and not n.is_empty()]
        candidates.sort(key=lambda n: (n.machine_written, -n.text_quality.rank))
        return candidates[0] if candidates else None


@dataclass(frozen=True)
class Figure:
    """A paper's key figure: its image on arXiv's HTML rendering and its caption (`bot.fulltext`)."""

    url: str
    caption: str = ""


@dataclass(frozen=True)
class Topic:
    """A tracked topic: a name users type, a title people read, an arXiv query."""

    name: str
    title: str = ""
    query: str | None = None
    categories: tuple[str, ...] = ()

    @property
    def display_title(self) -> str:
        return self.title or self.name


@dataclass(frozen=True)
class TopicStats:
    topic: Topic
    paper_count: int
    newest_published: str | None = None


@dataclass(frozen=True)
class UpsertReport:
    """What one store write did; `new` counts papers the store had never seen."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_ids: tuple[str, ...] = ()

    def counts(self) -> str:
        """'3 new, 1 updated, 0 unchanged': what every import and fetch says it stored."""
        return f"{self.new:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged"

    def __add__(self, other: "UpsertReport") -> "UpsertReport":
        return UpsertReport(
            self.new + other.new,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.new_ids + other.new_ids,
        )


@dataclass(frozen=True)
class IdLookup:
    """What arXiv said about a list of ids: the papers it has, the ids it does not know,
    and the ids it refused as malformed (with its words)."""

    papers: tuple[Paper, ...] = ()
    unknown: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()


# --- chat: who asked, where, and what -------------------------------------------------


@dataclass(frozen=True)
class ChannelRef:
    """A place messages go: adapter name, workspace/guild (if any), channel, thread."""

    adapter: str
    channel: str
    workspace: str | None = None
    thread: str | None = None

    @property
    def key(self) -> str:
        """A stable string for storing and logging; no secrets in it."""
        parts = [self.adapter, self.workspace or "-", self.channel]
        if self.thread:
            parts.append(self.thread)
        return ":".join(parts)


@dataclass(frozen=True)
class Subscription:
    """A channel's standing order: the digest of `topic`, on schedule `when` (in `timezone`).

    `when` is canonical schedule text (`mon 09:00`, `daily 08:30`, cron) without
    the timezone. `webhook_env` names the environment variable that holds a
    webhook URL (webhook adapter only); the URL itself is never stored.
    `source` is "config" or "chat". `failing` carries the last delivery error
    until a delivery succeeds again. `min_score` (set in the config file) leaves
    papers the channel's library scores below it out of a ranked digest's cards.
    """

    id: int
    channel: ChannelRef
    topic: str
    when: str = "mon 09:00"
    timezone: str = "UTC"
    language: str = "en"
    max_papers: int = 10
    post_empty: bool = False
    webhook_env: str | None = None
    source: str = "chat"
    created_at: str = ""
    failing: str | None = None
    failing_since: str | None = None
    figures: bool = False  # digest cards show each paper's key figure
    min_score: float | None = None
    # Its own filters (`bot.filters`): arXiv queries a paper must match / must not match, followed authors.
    include: str | None = None
    exclude: str | None = None
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Library:
    """What a channel's taste is built from: the papers of `topics` (a reading list imported as a topic).

    A channel has at most one. `source` is "config" (a subscription's `library`
    in the config file) or "chat" (`/paper library use`); `set_by` names who set it in chat.
    """

    channel: ChannelRef
    topics: tuple[str, ...]
    source: str = "chat"
    set_by: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class DeliveryKey:
    """One digest: (subscription, period). Adapters turn it into a nonce or message metadata."""

    subscription_id: int
    period: str

    @property
    def label(self) -> str:
        return f"{self.subscription_id}/{self.period}"


@dataclass(frozen=True)
class Delivery:
    """One digest's row: the claim of (subscription, period), and what became of it.

    `state`: claimed (not yet confirmed sent), sent, empty (nothing new, nothing
    posted), skipped (too late). `paper_ids` are the papers reserved for it.
    `until_seq`: the store's membership sequence its content was read up to;
    the next digest starts after it (None for skipped periods).
    """

    subscription_id: int
    period: str
    fire_time: str
    state: str
    paper_ids: tuple[str, ...] = ()
    total: int = 0
    message_ids: tuple[str, ...] = ()
    claimed_at: str = ""
    sent_at: str | None = None
    attempts: int = 0
    note: str | None = None
    until_seq: int | None = None

    @property
    def key(self) -> DeliveryKey:
        return DeliveryKey(self.subscription_id, self.period)


# --- replies: data, not markup --------------------------------------------------------


@dataclass(frozen=True)
class DigestMark:
    """Which digest a reply is, as data: its delivery key, its topic and how many papers it shows.

    Adapters turn it into a machine marker their platform keeps (Slack message
    metadata, a Discord embed footer) and find a posted digest again by that
    marker alone, never by the reply's wording. How many messages a digest
    takes is each adapter's own split, so the part count is in each marker.
    """

    key: DeliveryKey
    topic: Topic
    papers: int


@dataclass(frozen=True)
class PaperCard:
    """A paper as one entry of a list: what every list and digest shows."""

    arxiv_id: str
    title: str
    url: str
    published: str
    authors: tuple[str, ...] = ()
    code_url: str | None = None
    tldr: str = ""
    version: int = 1
    pdf_url: str = ""
    topics: tuple[str, ...] = ()
    figure: Figure | None = None
    why: str = ""  # why a ranked list shows it ("like DriveRX · reward model"); "" when not ranked


@dataclass(frozen=True)
class PaperListReply:
    """A header, a list of paper cards, and context lines (counts, "and N more")."""

    header: str
    cards: tuple[PaperCard, ...] = ()
    footer: tuple[str, ...] = ()
    empty_text: str = "No papers."
    digest: DigestMark | None = None  # set on a scheduled digest, never on a command's answer
    # Its cards take 👍/👎/🔖 votes (`bot.votes`): platforms with buttons put them under each card.
    votable: bool = False

    @property
    def text(self) -> str:
        return plaintext.list_text(self)


@dataclass(frozen=True)
class DetailSection:
    heading: str
    body: str


@dataclass(frozen=True)
class PaperDetailReply:
    """One paper in full: its card, the abstract, notes sections and a notes label."""

    card: PaperCard
    abstract: str = ""
    sections: tuple[DetailSection, ...] = ()
    notes_label: str | None = None
    footer: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return plaintext.detail_text(self)


@dataclass(frozen=True)
class NoticeReply:
    """Plain information: help, topic lists, confirmations."""

    lines: tuple[str, ...]
    title: str | None = None
    digest: DigestMark | None = None  # an empty digest ("No new papers ...") is a notice

    @property
    def text(self) -> str:
        return plaintext.notice_text(self)


@dataclass(frozen=True)
class FileReply(NoticeReply):
    """A file for the channel (an export), with the notice lines that say what it is.

    Each adapter uploads it its own way (Slack's files.uploadV2 flow, a Discord
    attachment; the console prints it); anything that only knows notices shows
    the lines, so a file never turns into an empty answer."""

    filename: str = ""
    content: bytes = b""
    media_type: str = "text/plain"


@dataclass(frozen=True)
class ErrorReply:
    """Something the user asked for could not be done; `hint` says what to try."""

    message: str
    hint: str | None = None

    @property
    def text(self) -> str:
        return plaintext.error_text(self)


Reply = Union[PaperListReply, PaperDetailReply, NoticeReply, ErrorReply]
DigestReply = Union[PaperListReply, NoticeReply]  # what a digest is posted as


def digest_mark(reply: Reply) -> DigestMark:
    """The mark of a digest reply; posting a reply without one as a digest is a bug."""
    mark = getattr(reply, "digest", None)
    if mark is None:
        raise ValueError(f"not a digest: a {type(reply).__name__} without a DigestMark")
    return mark
