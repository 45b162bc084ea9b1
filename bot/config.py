"""Settings: the TOML config file for behaviour, the environment for paths and secrets.

The file (`config/paperbot.toml`, or `--config` / `PAPERBOT_CONFIG`) says what
the bot tracks and how it behaves; it is validated strictly so a typo is
reported at start with the file, the key and what is wrong. Secrets (tokens,
webhook URLs) come only from the environment and are never logged.
A missing default config file means the built-in defaults (`FileConfig()`);
a missing file the user named explicitly is an error. The default paths and
the environment's settings live in `bot.settings` (re-exported here), which
a lookup reads without importing this module's pydantic.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Iterable, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator

from bot.errors import ConfigError, UserError
from bot.filters import check_authors, check_query
from bot.ingest.arxiv_query import QuerySyntaxError, compile_topic, parse_query
from bot.ingest.terms import EXAMPLE as TERMS_EXAMPLE
from bot.ingest.terms import terms_query, terms_topic
from bot.models import ChannelRef, Library, Subscription, Topic
from bot.schedule import Schedule, parse_timezone, parse_when
from bot.settings import DEFAULT_ARXIV_API_URL, DEFAULT_CONFIG_PATH, LookupSettings
from bot.settings import DEFAULT_ARXIV_WEB_URL as DEFAULT_ARXIV_WEB_URL
from bot.settings import EnvSettings as EnvSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicConfig(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
    title: str = ""
    query: str | None = None
    # The seed tool's shorthand (`bot.ingest.terms`): ["reward model", "vlm"] is a query, a name and a title.
    terms: list[str] = []
    categories: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _terms_name_the_topic(cls, data: object) -> object:
        if not isinstance(data, dict) or "terms" not in data:
            return data
        if not isinstance(data["terms"], list):
            raise ValueError(f"terms must be a list in brackets, like {TERMS_EXAMPLE}")
        if data["terms"] and "name" not in data:
            return {**data, "name": terms_topic(data["terms"]).name}
        return data

    @field_validator("terms")
    @classmethod
    def _terms_make_a_query(cls, terms: list[str]) -> list[str]:
        if terms:
            terms_query(terms)  # TermsError is a ValueError: reported with the key
        return terms

    @model_validator(mode="after")
    def _terms_or_query(self) -> "TopicConfig":
        if self.terms and self.query:
            raise ValueError("give either terms or query, not both (terms is the query (ti:... AND ...) OR (abs:... AND ...))")
        return self

    @field_validator("query")
    @classmethod
    def _query_is_valid_arxiv_syntax(cls, query: str | None) -> str | None:
        if query is not None:
            parse_query(query)  # QuerySyntaxError is a ValueError: reported with the key
        return query

    @field_validator("categories")
    @classmethod
    def _categories_are_arxiv_categories(cls, categories: list[str]) -> list[str]:
        for category in categories:
            try:
                compile_topic(Topic("category-check", categories=(category,)))
            except QuerySyntaxError:
                raise ValueError(f"'{category}' is not an arXiv category (like cs.CV, cs or cs.*)") from None
        return categories

    def to_topic(self) -> Topic:
        if self.terms:
            topic = terms_topic(self.terms, self.name, self.title or None)
            return Topic(topic.name, topic.title, topic.query, tuple(self.categories))
        return Topic(self.name, self.title, self.query, tuple(self.categories))


def _check_when(value: str | None) -> str | None:
    try:
        if value is not None:  # unset: [digest] default_when
            parse_when(value)
    except UserError as error:
        raise ValueError(str(error)) from None
    return value


class FetchConfig(_Strict):
    """How the bot asks arXiv for new papers: politely, incrementally, with retries."""

    enabled: bool = True
    schedule: str = "daily 06:00"
    delay_seconds: float = Field(3.0, ge=0)  # arXiv asks for at least 3 s between requests
    page_size: int = Field(100, ge=1, le=2000)
    retries: int = Field(5, ge=0, le=20)
    backoff_seconds: float = Field(5.0, ge=0)
    timeout_seconds: float = Field(30.0, gt=0)
    first_fetch_days: int = Field(30, ge=1, le=3650)  # how far back a topic's very first fetch looks
    max_results: int = Field(2000, ge=1)  # per topic and run: a safety net against a too-broad query

    _schedule_is_valid = field_validator("schedule")(_check_when)


class SubscriptionConfig(_Strict):
    """A digest subscription declared in the file (chat ones live only in the store)."""

    adapter: Literal["console", "slack", "discord", "webhook"]
    channel: str = Field(min_length=1, max_length=200)
    workspace: str | None = None
    thread: str | None = None
    topic: str = Field(min_length=1)
    when: str | None = None  # unset: [digest] default_when
    language: Literal["en", "zh"] | None = None
    max_papers: int = Field(10, ge=1, le=50)
    post_empty: bool = False
    webhook_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    figures: bool = False  # each card shows the paper's key figure (from `paperbot fulltext`)
    # The topics whose papers are the channel's taste: its digests are ranked by them (one library a channel).
    library: list[str] = []
    min_score: float | None = Field(None, ge=0, le=1)  # ranked digests: papers scoring below are only counted
    # Filters (`bot.filters`): arXiv queries a paper must / must not match, and followed authors.
    include: str | None = None
    exclude: str | None = None
    authors: list[str] = []

    _when_is_valid = field_validator("when")(_check_when)

    @field_validator("include", "exclude")
    @classmethod
    def _filter_reads(cls, value: str | None, info: ValidationInfo) -> str | None:
        try:
            return check_query(value, str(info.field_name))
        except UserError as error:
            raise ValueError(error.message) from None

    @field_validator("authors")
    @classmethod
    def _authors_are_names(cls, value: list[str]) -> list[str]:
        try:
            return list(check_authors([name.strip() for name in value]))
        except UserError as error:
            raise ValueError(error.message) from None

    @model_validator(mode="after")
    def _webhook_env_only_for_webhooks(self) -> "SubscriptionConfig":
        if self.adapter == "webhook" and not self.webhook_env:
            raise ValueError(
                "a webhook subscription needs webhook_env, the name of the environment variable holding the webhook URL"
            )
        if self.adapter != "webhook" and self.webhook_env:
            raise ValueError("webhook_env is only for adapter = \"webhook\"")
        return self

    def to_subscription(self, default_timezone: str, default_language: str, default_when: str) -> Subscription:
        schedule = parse_when(self.when or default_when, default_timezone)
        return Subscription(
            id=0,
            channel=self.channel_ref(),
            topic=self.topic,
            when=schedule.text,
            timezone=schedule.timezone_name,
            language=self.language or default_language,
            max_papers=self.max_papers,
            post_empty=self.post_empty,
            webhook_env=self.webhook_env,
            source="config",
            figures=self.figures,
            min_score=self.min_score,
            include=self.include,
            exclude=self.exclude,
            authors=tuple(self.authors),
        )

    def channel_ref(self) -> ChannelRef:
        return ChannelRef(self.adapter, self.channel, self.workspace, self.thread)


class DigestConfig(_Strict):
    max_lateness_hours: float = Field(48.0, ge=0)  # a digest missed by more than this is skipped, not sent late
    default_when: str = "mon 09:00"
    # At a stop, how long a digest being posted may take to finish; keep it below the
    # supervisor's kill timeout (Docker: 10 s) so the post is recorded, not resent.
    stop_grace_seconds: float = Field(8.0, ge=0, le=300)

    _when_is_valid = field_validator("default_when")(_check_when)


class SlackConfig(_Strict):
    admins: list[str] = []  # user ids allowed to change subscriptions besides workspace admins and owners


class DiscordConfig(_Strict):
    shards: Literal["auto"] | int | None = None  # "auto" runs an AutoShardedClient
    # The shards this process runs, of `shards` in all: spread a big bot's shards over replicas
    # (per replica, DISCORD_SHARD_IDS and DISCORD_SHARD_COUNT in the environment override both).
    shard_ids: list[int] | None = None

    @model_validator(mode="after")
    def _shard_ids_within_the_count(self) -> "DiscordConfig":
        problem = shard_ids_problem(self.shard_ids, self.shards)
        if problem:
            raise ValueError(problem)
        return self


def shard_ids_problem(shard_ids: list[int] | None, shards: object) -> str | None:
    """Why these shard ids cannot run with this shard count (`shards`), or None when they can."""
    if shard_ids is None:
        return None
    if not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
        return "shard_ids needs the total count: set shards (or DISCORD_SHARD_COUNT) to a number of shards"
    wrong = [i for i in shard_ids if not 0 <= i < shards]
    if wrong or not shard_ids or len(set(shard_ids)) != len(shard_ids):
        return f"shard_ids must be distinct shard numbers from 0 to {shards - 1} (got {shard_ids})"
    return None


class NotesConfig(_Strict):
    """Machine-written notes through an OpenAI-compatible chat-completions server (`bot.llm_notes`).

    The server and key come from OPENAI_BASE_URL / OPENAI_API_KEY, never from this file.
    """

    enabled: bool = False
    model: str = Field("", max_length=200)  # required when enabled: "gpt-4o-mini", "qwen2.5:7b", ...
    language: Literal["en", "zh"] = "en"  # digests use the headline as TLDR when this matches tldr_lang
    max_concurrency: int = Field(2, ge=1, le=32)
    daily_budget: int = Field(100, ge=1)  # papers asked about per UTC day
    timeout_seconds: float = Field(120.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)  # per request, for 429, 5xx, timeouts and connection errors
    json_mode: bool = True  # send response_format json_object; turn off for servers that reject it
    # What a prompt may hold (estimated; `bot.fulltext.sections`): the full text is cut, section-aware, to fit.
    max_input_tokens: int = Field(12000, ge=1000, le=1_000_000)
    # A template replacing our user prompt ({title}, {abstract}, {full_text}, {language});
    # relative to the config file's folder. Checked when the config is loaded.
    prompt_file: str = ""
    _prompt_template: str | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _model_when_enabled(self) -> "NotesConfig":
        if self.enabled and not self.model.strip():
            raise ValueError("notes are enabled but no model is named; set model = \"...\" (the name your server knows)")
        return self

    @property
    def prompt_template(self) -> str | None:
        """The custom prompt's text, once `load_config` has read and checked `prompt_file`."""
        return self._prompt_template


class FullTextConfig(_Strict):
    """Fetching papers' full text from arXiv's HTML rendering or PDF (`bot.fulltext`)."""

    enabled: bool = True  # `run` fetches full text for new papers when [notes] is enabled
    delay_seconds: float = Field(3.0, ge=0)  # between requests to arXiv, shared with the API fetcher
    timeout_seconds: float = Field(60.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    max_mb: float = Field(50.0, gt=0, le=1000)  # larger files are skipped, not read
    max_per_run: int = Field(50, ge=1)  # papers per scheduled run (each is a request or two, 3 s apart)


class LoggingConfig(_Strict):
    file: str = ""  # append log lines to this file instead of stderr (PAPERBOT_LOG_FILE beats it)


class FileConfig(_Strict):
    """Everything the TOML file may say. Unknown keys are errors, not silently ignored."""

    tldr_lang: Literal["en", "zh"] = "en"
    timezone: str = "UTC"
    example_data: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    arxiv_api_url: str = Field(DEFAULT_ARXIV_API_URL, pattern=r"^https?://")
    fetch: FetchConfig = FetchConfig()
    digest: DigestConfig = DigestConfig()
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()
    notes: NotesConfig = NotesConfig()
    fulltext: FullTextConfig = FullTextConfig()
    logging: LoggingConfig = LoggingConfig()
    topics: list[TopicConfig] = []
    subscriptions: list[SubscriptionConfig] = []
    _source: str = PrivateAttr("")  # the file it was read from, for messages that point into it

    @property
    def source(self) -> str:
        return self._source or DEFAULT_CONFIG_PATH

    @field_validator("timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            parse_timezone(value)
        except UserError as error:
            raise ValueError(str(error)) from None
        return value

    def lookup_settings(self) -> LookupSettings:
        return LookupSettings(self.tldr_lang, self.log_level, self.logging.file, self.source)

    def topic_list(self) -> list[Topic]:
        return [topic.to_topic() for topic in self.topics]

    def fetch_schedule(self) -> Schedule:
        return parse_when(self.fetch.schedule, self.timezone)

    def subscription_list(self) -> list[Subscription]:
        return [s.to_subscription(self.timezone, self.tldr_lang, self.digest.default_when) for s in self.subscriptions]

    def library_list(self) -> list[Library]:
        """The channels' libraries the subscriptions set (at most one a channel: checked when read)."""
        libraries: dict[str, Library] = {}
        for entry in self.subscriptions:
            if entry.library:
                channel = entry.channel_ref()
                libraries.setdefault(channel.key, Library(channel, tuple(dict.fromkeys(entry.library)), "config"))
        return list(libraries.values())

    def check_subscription_topics(self, known: Iterable[str]) -> None:
        """A ConfigError naming the file and the first `[[subscriptions]]` entry whose topic (or library topic) is unknown."""
        names = set(known)
        for number, entry in enumerate(self.subscriptions, 1):
            for topic, what in [(entry.topic, "topic"), *((name, "library topic") for name in entry.library)]:
                if topic not in names:
                    raise ConfigError(
                        self.source, f"[[subscriptions]] #{number}",
                        f"unknown {what} '{topic}'; known topics: {', '.join(sorted(names)) or 'none'} "
                        "(a [[topics]] entry, or a topic a paper list was imported under)",
                    )


def _format_location(location: tuple[object, ...], data: dict) -> str:
    """`('topics', 0, 'nmae')` -> `topics[0] (reward-vlm).nmae`: what a human can find in the file."""
    parts: list[str] = []
    node: object = data
    for item in location:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict) and "name" in node[item]:
                label += f" ({node[item]['name']})"
            parts.append(label)
            node = node[item] if isinstance(node, list) and item < len(node) else None
        else:
            parts.append(("." if parts else "") + str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts)


def parse_config(text: str, source: str) -> FileConfig:
    """Validate TOML text; raises ConfigError naming the source, the key and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, None, f"not valid TOML: {error}") from None
    try:
        config = FileConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        key = _format_location(first["loc"], data)
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown key"
        more = len(error.errors()) - 1
        if more:
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(source, key, message) from None
    names = [topic.name for topic in config.topics]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(source, "topics", f"topic names must be unique; repeated: {', '.join(duplicates)}")
    _check_one_library_per_channel(config, source)
    config._source = source
    return config


def _check_one_library_per_channel(config: FileConfig, source: str) -> None:
    """A channel has at most one library: two subscriptions there may not name different ones."""
    first: dict[str, tuple[int, list[str]]] = {}
    for number, entry in enumerate(config.subscriptions, 1):
        if not entry.library:
            continue
        key = entry.channel_ref().key
        if key not in first:
            first[key] = (number, entry.library)
        elif set(first[key][1]) != set(entry.library):
            earlier, topics = first[key]
            raise ConfigError(
                source, f"[[subscriptions]] #{number}.library",
                f"channel {entry.channel} already has the library {topics} (#{earlier}); a channel has one library, "
                "which all its digests are ranked by: give both entries the same list, or leave it out of one",
            )


def load_config(path: str | Path, *, explicit: bool) -> FileConfig:
    """Read the config file; a missing file is fine only when the user did not name it."""
    return load_config_and_text(path, explicit=explicit)[0]


def load_config_and_text(path: str | Path, *, explicit: bool) -> tuple[FileConfig, str]:
    """The config and the very text it was checked from ("" for a missing file not named)."""
    config_path = Path(path)
    if not config_path.exists():
        if explicit:
            raise ConfigError(str(config_path), None, "file not found")
        return FileConfig(), ""
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(config_path), None, f"cannot read: {error}") from None
    config = parse_config(text, str(config_path))
    if config.notes.prompt_file:
        config.notes._prompt_template = _read_prompt_file(config.notes.prompt_file, config_path)
    return config, text


def _read_prompt_file(name: str, config_path: Path) -> str:
    """The `[notes] prompt_file` template, read and checked; a ConfigError names the key and the fix."""
    from bot.notes_prompt import check_template

    path = Path(name).expanduser()
    if not path.is_absolute():
        path = config_path.parent / path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(config_path), "notes.prompt_file", f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(config_path), "notes.prompt_file", f"cannot read {path}: {error}") from None
    try:
        check_template(text)
    except ValueError as error:
        raise ConfigError(str(config_path), "notes.prompt_file", f"{path}: {error}") from None
    return text
