"""The `paperbot` command: import, look up, and run the bot.

Exit status: 0 on success, 2 for anything the user can fix (bad input, a
malformed file, a config error, a store problem such as a full disk or a
read-only or busy store: `bot.errors.StoreError`), 1 for a bug, and for `fetch` also when
arXiv failed for a topic (the other topics are still fetched), for `notes`
when a paper's notes failed or the notes server could not be used, for
`fulltext` when arXiv could not be used, for `ask` when an answer failed. Lookups print the same text the
chat adapters show, or JSON with `--json`, and open the store read-only: they never write.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, Sequence

from bot.commands import CommandRouter, for_command_line
from bot.commands.command_line import AddParser, add_lookup_parsers, lookup_words
from bot.commands.registry import REGISTRY
from bot.errors import IngestError, StoreError, UserError
from bot.logs import log_to_file, setup_logging
from bot.models import ErrorReply, Reply, Topic
from bot.plugins import Plugins, needs_extra, store_scheme
from bot.ports import SystemClock
from bot.runtime import Runtime, build_fulltext_fetcher, build_ranking, build_service, open_location, open_store
from bot.service import PaperService
from bot.settings import DEFAULT_CONFIG_PATH, DEFAULT_DB_PATH, EnvSettings, LookupSettings, remember, stamped_settings

if TYPE_CHECKING:
    from bot.config import FileConfig  # pydantic: loaded by the commands that use the whole config, not by lookups
    from bot.ranking import Ranking  # scikit-learn loads only where a library is used

EXIT_OK, EXIT_BUG, EXIT_USAGE = 0, 1, 2
EXIT_FETCH_FAILED = 1  # a remote failure is not a usage error
EXIT_ATTENTION = 1  # `status`: a subscription is failing or undeliverable, or a fetch is failing

log = logging.getLogger("paperbot")


def _add_global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """--db, --config and -v, before the command or (after_command) after it.

    After the command their defaults are SUPPRESS, so a subcommand only sets what
    was given there and never resets a value given before the command."""
    unset = argparse.SUPPRESS if after_command else None
    parser.add_argument("--db", default=unset, help=f"SQLite store (env PAPERBOT_DB, default {DEFAULT_DB_PATH})")
    parser.add_argument(
        "--config", default=unset, help=f"TOML config (env PAPERBOT_CONFIG, default {DEFAULT_CONFIG_PATH})"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS if after_command else False,
        help="log debug details",
    )


class Argument(NamedTuple):
    """One `add_argument` of a subcommand: its name(s) and argparse's settings."""

    names: tuple[str, ...]
    settings: dict[str, Any]


def argument(*names: str, **settings: Any) -> Argument:
    return Argument(names, settings)


class Subcommand(NamedTuple):
    """A `paperbot` subcommand besides the lookups (those are derived from the registry: `add_lookup_parsers`).

    Tuples, not dataclasses: building a dataclass costs every lookup a third of a millisecond."""

    name: str
    help: str
    description: str
    arguments: tuple[Argument, ...] = ()
    one_of: tuple[Argument, ...] = ()  # options that exclude each other

    def add_to(self, add_parser: AddParser) -> None:
        parser = add_parser(self.name, help=self.help, description=self.description)
        if self.one_of:
            group = parser.add_mutually_exclusive_group()
            for option in self.one_of:
                group.add_argument(*option.names, **option.settings)
        for option in self.arguments:
            parser.add_argument(*option.names, **option.settings)


def _since_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2025-06-01: {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _at_most(default: str) -> Argument:
    return argument("--limit", type=_positive_int, metavar="N", help=f"at most N papers (default: {default})")


ONLY_TOPIC = argument("--topic", help="only papers of this topic")
JSON = argument("--json", action="store_true", help="print machine-readable JSON")

# In `paperbot --help` order: these, then the lookups, then AFTER_LOOKUPS.
BEFORE_LOOKUPS = (
    Subcommand(
        "import",
        help="import paper-list markdown, BibTeX (.bib) or arXiv metadata snapshots (.jsonl, .jsonl.gz)",
        description="Paper-list markdown and BibTeX: one transaction per file. BibTeX entries with an arXiv id "
        "import from their own fields and are refreshed from the arXiv API when it answers; entries without one "
        "are looked up on arXiv by title and reported as unmatched when no title is close. arXiv metadata "
        "snapshot (JSON lines, optionally gzipped): streamed in batches, topics decided by the configured topics' "
        "queries, malformed lines skipped and reported.",
        arguments=(
            argument("files", nargs="+", type=Path, metavar="FILE"),
            argument(
                "--topic", help="topic name for paper-list and BibTeX papers (default: the list's heading, the .bib file's "
                "name); not for snapshots",
            ),
            argument("--offline", action="store_true", help="BibTeX: do not ask arXiv (no refresh, no title lookups)"),
        ),
    ),
    Subcommand(
        "add",
        help="add papers by arXiv id or link, fetched from the arXiv API",
        description="Fetch the papers from the arXiv API (id_list, 100 ids a request, spaced and retried as a "
        "fetch) and store them. Ids arXiv does not know, or words that are not ids, are reported; the others are "
        "still added. Exit status: 0 when every one was added, 2 when some were not (the others are stored), "
        "1 when arXiv could not be asked.",
        arguments=(
            argument(
                "refs", nargs="+", metavar="ID", help="2505.20665, arXiv:2505.20665v2, hep-th/9901001, or an arxiv.org link"
            ),
            argument("--topic", help="add them to this topic (created if new)"),
        ),
    ),
    Subcommand(
        "export",
        help="write a topic's papers (or chosen ids) as a paper list, BibTeX, CSV or JSON",
        description="Write the papers newest first (ids: in the order given) to FILE or standard output. md is the "
        "paper-list format `import` reads (notes and quality marks included); bib is BibTeX with arXiv's fields; "
        "csv and json carry every field. The same papers always give the same bytes.",
        one_of=(
            argument("--topic", help="every paper of this topic"),
            argument("--library", metavar="NAME", help="the papers of this library"),
            argument("--saved", metavar="CHANNEL", help="a channel's saved reading list (its key, e.g. slack:-:C0123)"),
        ),
        arguments=(
            argument("ids", nargs="*", metavar="ID", help="these papers (from the store), in this order"),
            argument("--format", default="md", type=str.lower, choices=("md", "bib", "csv", "json")),
            argument("-o", "--output", type=Path, metavar="FILE", help="write here instead of standard output"),
        ),
    ),
)
AFTER_LOOKUPS = (
    Subcommand(
        "fetch",
        help="fetch new papers from arXiv for the configured topics",
        description="Fetch new papers from the arXiv API for every configured topic with a query "
        "(incremental: from a day before the newest paper seen). Prints one summary line per topic. "
        "Exit status: 0 when every topic was fetched, 1 when arXiv failed for a topic (papers already "
        "fetched stay stored), 2 for a usage or config error.",
        arguments=(
            argument("--topic", help="only this configured topic (one with an arXiv query)"),
            argument(
                "--since", type=_since_date, metavar="YYYY-MM-DD", help="look back to this date instead of the topic's cursor"
            ),
        ),
    ),
    Subcommand(
        "notes",
        help="write machine notes for papers that lack them ([notes] in the config)",
        description="Ask the OpenAI-compatible server at OPENAI_BASE_URL (key: OPENAI_API_KEY) for "
        "structured notes on the papers without notes in the configured language, newest first, within "
        "the daily budget. Exit status: 0 when every paper asked about got notes, 1 when some failed or the "
        "server could not be used (those papers keep their extractive TLDR and are retried next run), "
        "2 for a usage or config error.",
        arguments=(ONLY_TOPIC, _at_most("the daily budget")),
    ),
    Subcommand(
        "fulltext",
        help="fetch papers' full text from arXiv (HTML rendering, else PDF) for notes, questions and key figures",
        description="Fetch the full text of papers that have none stored (or only an older version's), newest first, "
        "from ARXIV_WEB_URL (default https://arxiv.org): the HTML rendering when arXiv has one, else the PDF; one "
        "request at a time, [fulltext] delay_seconds apart. A paper without either, or over [fulltext] max_mb, is "
        "recorded and not tried again until a new version. Exit status: 0 when the run finished, 1 when arXiv could "
        "not be used (the papers left are fetched next run), 2 for a usage or config error.",
        arguments=(ONLY_TOPIC, _at_most("[fulltext] max_per_run")),
    ),
    Subcommand(
        "ask",
        help="ask a question about a paper, or about every paper of a topic, through the [notes] model",
        description="`paperbot ask ID QUESTION`: an answer from the paper's full text (fetched when not stored), "
        "quoting the passage it rests on, or \"I don't know from this paper\". `paperbot ask --topic NAME QUESTION "
        "[-o report.md]`: the question to every paper of the topic (stored full text, else the abstract), "
        "[notes] max_concurrency at a time, as one markdown report. Each paper counts against [notes] daily_budget, "
        "shared with notes. Exit status: 0 when every paper asked got an answer, 1 when some failed or the budget or "
        "the server stopped the run, 2 for a usage or config error.",
        arguments=(
            argument(
                "words", nargs="+", metavar="ID QUESTION", help="the paper's id and the question (with --topic: the question)"
            ),
            argument("--topic", help="ask every paper of this topic"),
            argument(
                "-o", "--output", type=Path, metavar="FILE", help="with --topic: write the report here (default: standard output)"
            ),
            JSON,
        ),
    ),
    Subcommand(
        "run",
        help="run the bot (console adapter unless chat tokens are set)",
        description="Run the bot until SIGTERM, Ctrl-C or the end of the console's input. One `run` per SQLite store: "
        "a second one on the same store refuses to start; lookups and imports work beside it. Any number may serve "
        "one PostgreSQL store (replicas): each digest period is still delivered once.",
    ),
    Subcommand(
        "status",
        help="subscriptions with their next run, last delivery and failures; arXiv fetch health",
        description="Reads the store and posts and changes nothing (only `run` syncs the config's "
        "[[subscriptions]]; differences are listed). Exit status 0, or 1 when a subscription is failing or "
        "cannot be delivered from this environment, or a topic's arXiv fetch is failing, so monitoring can alert on it.",
        arguments=(JSON,),
    ),
    Subcommand(
        "backup",
        help="copy the store consistently, even while the bot or an import writes to it",
        description="Copy the store with SQLite's online backup API: the copy holds everything committed when "
        "the backup started. It is written next to TARGET and renamed over it when complete, so TARGET is "
        "always a whole store. Restore: stop the bot, delete the store's -wal and -shm files (after a crash they hold "
        "the old store's last commits, which SQLite would replay onto the copy), then move the copy to the --db path.",
        arguments=(
            argument("target", type=Path, metavar="TARGET", help="the file to write, e.g. backups/paperbot-2025-06-01.db"),
        ),
    ),
    Subcommand(
        "migrate",
        help="copy the store (--db) into another kind of store, e.g. a PostgreSQL database (--to)",
        description="Copy every paper, note, topic, subscription and delivery of the --db store into the empty store "
        "at --to (e.g. postgresql://USER:PASSWORD@HOST:PORT/DATABASE, best given as PAPERBOT_MIGRATE_TO so no "
        "password shows in the process list), in one transaction, then compare each table's row count. The source "
        "is only read. Stop the bot first; then point PAPERBOT_DB at the new store.",
        arguments=(argument("--to", metavar="URL", help="the target store (default: $PAPERBOT_MIGRATE_TO)"),),
    ),
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, the subcommand of that name alone (what `main` builds when
    argv names one: building all twenty cost a lookup about 5 ms)."""
    parser = argparse.ArgumentParser(
        prog="paperbot",
        description="Research-paper digests and /paper lookups for Slack, Discord and the console.",
    )
    parser.add_argument("--version", action=_VersionAction, help="show program's version number and exit")
    _add_global_options(parser, after_command=False)
    global_options = argparse.ArgumentParser(add_help=False)
    _add_global_options(global_options, after_command=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[global_options], **kwargs)

    for subcommand in BEFORE_LOOKUPS:
        if only in (None, subcommand.name):
            subcommand.add_to(command)
    add_lookup_parsers(command, only=only)
    for subcommand in AFTER_LOOKUPS:
        if only in (None, subcommand.name):
            subcommand.add_to(command)
    return parser


def named_command(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names, read past the global options as the whole parser reads them;
    None without one (`--help` anywhere, `--version`, a typo) or with a `--`, whose reading argparse
    leaves to the subcommands: then the whole parser is built and answers."""
    if "--" in argv:
        return None
    before_command = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    _add_global_options(before_command, after_command=False)
    before_command.add_argument("-h", "--help", action="store_true")
    before_command.add_argument("command", nargs="?")
    try:
        known = before_command.parse_known_args(argv)[0]
    except argparse.ArgumentError:
        return None
    name = None if known.help else known.command
    lookups = (command.name for command in REGISTRY if command.on_command_line)
    return name if name in {*(s.name for s in (*BEFORE_LOOKUPS, *AFTER_LOOKUPS)), *lookups} else None


class _VersionAction(argparse.Action):
    """--version: the installed version, read from the package metadata only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=argparse.SUPPRESS, nargs=0, help=help)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: object, values: object, option_string: str | None = None
    ) -> None:
        print(f"paperbot {package_version()}")
        parser.exit()


def package_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("paperbot")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def resolve_paths(args: argparse.Namespace) -> tuple[str, str, bool]:
    """--flag beats the environment beats the default; an explicit config must exist."""
    env = EnvSettings()
    db = args.db if args.db is not None else env.paperbot_db
    config_explicit = args.config is not None or "PAPERBOT_CONFIG" in os.environ
    config = args.config or env.paperbot_config
    return db, config, config_explicit


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


async def run_command(args: argparse.Namespace) -> int:
    db, config_path, explicit = resolve_paths(args)
    registered = REGISTRY.get(args.command)
    if registered is not None and registered.on_command_line:  # latest, search, show, topics, similar, recommend, saved
        return await run_lookup(args, db, config_path, explicit, uses_ranking=registered.uses_ranking)
    config = load_config(config_path, explicit)
    set_up_log(args, config.lookup_settings(), config_path)
    runtime = Runtime(db_path=db, config=config)

    if args.command == "run":
        from bot.app import run_bot  # the composition: scheduler, digest engine, adapter plugins

        return await run_bot(runtime)
    if args.command == "fetch":
        return await fetch_papers(runtime, args.topic, args.since)
    if args.command == "notes":
        return await write_machine_notes(runtime, args.topic, args.limit)
    if args.command == "fulltext":
        return await fetch_full_texts(runtime, args.topic, args.limit)
    if args.command == "ask":
        return await ask_papers(runtime, args)
    if args.command == "backup":
        return await backup(runtime, args.target)
    if args.command == "migrate":
        return await migrate_store(runtime, args.to or os.environ.get("PAPERBOT_MIGRATE_TO", ""))
    if args.command == "import":
        async with open_store(runtime) as store:
            with arxiv_lookup(runtime, store.papers, args.offline, args.files) as lookup:
                return await import_files(store.papers, args.files, args.topic, config.topic_list(), arxiv=lookup)
    if args.command == "add":
        return await add_by_id(runtime, args.refs, args.topic)
    if args.command == "export":
        return await export_papers(runtime, args)
    if args.command == "status":
        runtime, read_only = store_or_empty(runtime)
        async with open_store(runtime, read_only=read_only) as store:
            return await print_status(runtime, store, args.json)
    raise AssertionError(f"no handler for the command {args.command}")


def load_config(path: str, explicit: bool) -> FileConfig:
    """The whole config, checked by the model, and stamped so the next lookups need not check it again."""
    from bot.config import load_config_and_text

    config, text = load_config_and_text(path, explicit=explicit)
    remember(path, config, text)
    return config


def set_up_log(args: argparse.Namespace, settings: LookupSettings, config_path: str) -> None:
    if not args.verbose:
        logging.getLogger().setLevel(settings.log_level)
    env_log_file = (EnvSettings().paperbot_log_file or "").strip()
    if env_log_file or settings.log_file:
        where = "PAPERBOT_LOG_FILE" if env_log_file else f"[logging] file in {config_path}"
        log_to_file(env_log_file or settings.log_file, where)


def store_or_empty(runtime: Runtime) -> tuple[Runtime, bool]:
    """The runtime to read from and whether it is read-only. Lookups change nothing: they open the
    store read-only, and a store that does not exist yet is answered as the empty store it would be
    (in memory, with the config's topics), without creating it."""
    db = runtime.db_path
    if db.strip() and not runtime.store_exists():
        print(f"note: there is no store at {db} yet; `paperbot import FILE` or `paperbot run` creates it", file=sys.stderr)
        return replace(runtime, db_path=":memory:"), False
    return runtime, True


async def run_lookup(args: argparse.Namespace, db: str, config_path: str, explicit: bool, *, uses_ranking: bool) -> int:
    """A lookup reads only its settings of the config file (`bot.settings`, no config model when the
    file was checked before), unless the store does not exist yet and the config's topics are its answer.
    The libraries' `Ranking` is built for the lookups that read it (`Command.uses_ranking`) only."""
    config: FileConfig | None = None
    settings = stamped_settings(config_path, explicit=explicit)
    if settings is None:
        config = load_config(config_path, explicit)
        settings = config.lookup_settings()
    set_up_log(args, settings, config_path)
    plugins = Plugins()
    if db.strip() and not plugins.store(db).exists(db):
        config = config or load_config(config_path, explicit)  # the config's topics are the answer
        runtime, read_only = store_or_empty(Runtime(db_path=db, config=config, plugins=plugins))
        opened = open_store(runtime, read_only=read_only)
    else:
        opened, read_only = open_location(plugins, db, SystemClock(), read_only=True), True
    async with opened as store:
        service = build_service(store.papers, settings, store.fulltext)
        ranking = build_ranking(service, store, settings, save_models=not read_only) if uses_ranking else None
        return await answer_lookup(args, service, ranking)


async def answer_lookup(args: argparse.Namespace, service: PaperService, ranking: Ranking | None = None) -> int:
    """A lookup (latest, search, show, topics, similar, recommend): the chat command's answer, as text or JSON."""
    router = CommandRouter(service, ranking=ranking)
    try:
        request = await router.read_words(lookup_words(args))
    except UserError as error:
        if args.json or isinstance(error, StoreError):
            raise  # printed as `error: ...` on stderr, as every failure before the answer
        return print_reply(ErrorReply(error.message, error.hint))
    if not args.json:
        return print_reply((await router.answer(request)).reply)
    data, notes = await router.answer_json(request)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print_json(data)
    return EXIT_OK


def print_reply(reply: Reply) -> int:
    if isinstance(reply, ErrorReply):
        print(for_command_line(reply.text))
        return EXIT_USAGE
    print(reply.text)
    return EXIT_OK


async def backup(runtime: Runtime, target: Path) -> int:
    plugin = runtime.plugins.store(runtime.db_path)
    report = await asyncio.to_thread(plugin.backup, runtime.db_path, str(target))
    print(report.summary())
    return EXIT_OK


async def migrate_store(runtime: Runtime, target: str) -> int:
    if not target.strip():
        raise UserError("migrate needs the target store: --to URL (or PAPERBOT_MIGRATE_TO)")
    plugin = runtime.plugins.store(target)
    copy_from = getattr(plugin, "copy_from", None)
    if copy_from is None:
        raise UserError(f"a {store_scheme(target)} store cannot be a migration target; give --to postgresql://…")
    report = await copy_from(runtime.db_path, target, clock=runtime.clock)
    print(report.summary())
    return EXIT_OK


async def print_status(runtime: Runtime, store: Any, as_json: bool) -> int:
    from bot.app import build_digest_core
    from bot.status import gather_status, render_status, status_json

    subscriptions = (await build_digest_core(runtime, store, sync_config=False)).subscriptions
    status = await gather_status(subscriptions, [t for t in runtime.config.topic_list() if t.query], runtime.env)
    if as_json:
        print_json(status_json(status))
    else:
        print(render_status(status))
    return EXIT_ATTENTION if status.needs_attention else EXIT_OK


class Lookup:
    """The arXiv lookup an import may use, or why there is none (`offline`)."""

    def __init__(self, client: Any = None, offline: str | None = None) -> None:
        self.client, self.offline = client, offline


@contextlib.contextmanager
def arxiv_lookup(runtime: Runtime, store: Any, offline: bool, files: Sequence[Path] = ()) -> Iterator[Lookup]:
    """An arXiv client for BibTeX imports, unless `--offline`, fetching is off, or no file is BibTeX."""
    from bot.ingest.bibtex import looks_like_bibtex

    if offline:
        yield Lookup(offline="--offline")
        return
    if not runtime.config.fetch.enabled:
        yield Lookup(offline="fetching from arXiv is disabled in the config ([fetch] enabled = false)")
        return
    if not any(looks_like_bibtex(path) for path in files):
        yield Lookup()
        return
    from bot.ingest.arxiv import ArxivFetcher, resolve_api_url

    client = ArxivFetcher(store, runtime.config.fetch, resolve_api_url(runtime.config, EnvSettings()), clock=runtime.clock)
    try:
        yield Lookup(client)
    finally:
        client.close()


async def import_files(
    store: Any, files: Sequence[Path], topic: str | None, topics: Sequence[Topic] = (), *, arxiv: Lookup | None = None
) -> int:
    """Import each file with the importer its name or content calls for; 2 if any file was refused.

    Ctrl-C is passed on (exit status 130) after saying how to resume.
    """
    try:
        return await _import_each(store, files, topic, topics, arxiv or Lookup(offline="no arXiv lookup here"))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(
            "interrupted: what was committed is kept (whole paper lists, and the finished batches of a snapshot). "
            "To resume, run the same command again: papers already stored come back unchanged.",
            file=sys.stderr,
        )
        raise


async def _import_each(
    store: Any, files: Sequence[Path], topic: str | None, topics: Sequence[Topic], arxiv: Lookup
) -> int:
    from bot.ingest.bibtex import import_bibtex, looks_like_bibtex
    from bot.ingest.paperlist import import_paperlist  # importers (and ftfy) only where a file is imported
    from bot.ingest.snapshot import looks_like_snapshot

    status = EXIT_OK
    for path in files:
        if looks_like_snapshot(path):
            if not await import_snapshot_file(store, path, topic, topics):
                status = EXIT_USAGE
            continue
        if looks_like_bibtex(path):
            try:
                bib = await import_bibtex(store, path, topic, arxiv.client, offline=arxiv.offline)
            except IngestError as error:
                print(f"error: {error}", file=sys.stderr)
                status = EXIT_USAGE
                continue
            print("\n".join(bib.summary_lines()))
            for note in filter(None, [bib.topic_note]):
                print(f"  note: {note}", file=sys.stderr)
            for warning in bib.warnings:
                print(f"  warning: {warning}", file=sys.stderr)
            continue
        try:
            report = await import_paperlist(store, path, topic)
        except IngestError as error:
            print(f"error: {error}", file=sys.stderr)
            status = EXIT_USAGE
            continue
        if not report.papers:
            print(report.summary)
        else:
            print(f"{path}: {report.stored.counts()} (topic {report.topic.name})")
        if report.topic_note:
            print(f"  note: {report.topic_note}", file=sys.stderr)
        for warning in report.warnings:
            print(f"  warning: {warning}", file=sys.stderr)
    return status


async def import_snapshot_file(store: Any, path: Path, topic: str | None, topics: Sequence[Topic]) -> bool:
    # Skipped lines are reported but are no failure: a multi-GB snapshot always has a few.
    if topic:
        print(f"  note: --topic is ignored for {path}: snapshot papers join the configured topics", file=sys.stderr)
    from bot.ingest.snapshot import import_snapshot

    try:
        report = await import_snapshot(store, path, topics)
    except IngestError as error:
        print(f"error: {error}", file=sys.stderr)
        return False
    print(report.summary)
    for line in report.details():
        print(f"  {line}")
    return True


async def add_by_id(runtime: Runtime, refs: Sequence[str], topic: str | None) -> int:
    from bot.errors import RemoteError
    from bot.ingest.arxiv import ArxivFetcher, resolve_api_url
    from bot.ingest.by_id import add_papers

    config = runtime.config
    if not config.fetch.enabled:
        raise UserError("fetching from arXiv is disabled in the config ([fetch] enabled = false)")
    api_url = resolve_api_url(config, EnvSettings())
    async with open_store(runtime) as store:
        client = ArxivFetcher(store.papers, config.fetch, api_url, clock=runtime.clock)
        try:
            report = await add_papers(store.papers, client, refs, topic)
        except RemoteError as error:
            print(f"error: arXiv could not be asked: {error.message}; nothing was added", file=sys.stderr)
            return EXIT_FETCH_FAILED
        finally:
            client.close()
    print("\n".join(report.lines()))
    return EXIT_OK if report.complete else EXIT_USAGE


async def export_papers(runtime: Runtime, args: argparse.Namespace) -> int:
    from bot.export import export_file, library_papers, papers_by_ids, papers_of_topic, saved_papers

    chosen = [bool(args.topic), bool(args.library), bool(args.saved), bool(args.ids)]
    if sum(chosen) != 1:
        raise UserError("export needs exactly one of --topic NAME, --library NAME, --saved CHANNEL or IDs",
                        "e.g. paperbot export --topic reward-model-vlm --format bib -o refs.bib")  # fmt: skip
    if args.output is not None and args.output.is_dir():
        raise UserError(f"{args.output} is a directory", "Give a file name, e.g. -o refs.bib.")
    if runtime.db_path.strip() and not runtime.store_exists():
        raise UserError(f"there is no store at {runtime.db_path} yet: nothing to export", "Import or add papers first.")
    async with open_store(runtime, read_only=True) as store:
        if args.topic:
            selection = await papers_of_topic(store.papers, args.topic)
        elif args.library:
            selection = await library_papers(store.papers, args.library)
        elif args.saved:
            selection = await saved_papers(store.votes, args.saved)
        else:
            selection = await papers_by_ids(store.papers, args.ids)
    file = export_file(selection, args.format, runtime.config.tldr_lang)
    if args.output is None:
        sys.stdout.buffer.write(file.content)
        sys.stdout.flush()
    else:
        _write_atomically(args.output, file.content)
    print(f"{file.description}" + (f" -> {args.output}" if args.output else ""), file=sys.stderr)
    return EXIT_OK


def _write_atomically(path: Path, content: bytes) -> None:
    """Write beside `path`, then rename over it: a failed write never leaves half a file there."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(content)
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        hint = "Check that its directory exists and is writable."
        raise UserError(f"cannot write {path}: {error.strerror or error}", hint) from None


async def fetch_papers(runtime: Runtime, topic: str | None, since: date | None) -> int:
    from bot.ingest.arxiv import ArxivFetcher, fetchable_topics, resolve_api_url

    config = runtime.config
    if not config.fetch.enabled:
        raise UserError("fetching from arXiv is disabled in the config ([fetch] enabled = false)")
    if since is not None and since > runtime.clock.now().date():
        raise UserError(f"--since {since.isoformat()} is in the future")
    api_url = resolve_api_url(config, EnvSettings())
    async with open_store(runtime) as store:
        # With the topics made in chat from `terms`.
        topics = fetchable_topics(config, topic, [stats.topic for stats in await store.papers.topics()])
        fetcher = ArxivFetcher(store.papers, config.fetch, api_url, clock=runtime.clock)
        try:
            reports = await fetcher.fetch_topics(topics, since)
        finally:
            fetcher.close()
    for report in reports:
        print(report.summary())
    return EXIT_OK if all(report.ok for report in reports) else EXIT_FETCH_FAILED


async def write_machine_notes(runtime: Runtime, topic: str | None, limit: int | None) -> int:
    from bot.progress import track

    config = runtime.config
    if not config.notes.enabled:
        raise UserError("machine-written notes are disabled in the config ([notes] enabled = false)")
    with needs_extra("llm", "writing machine notes", config.source, "[notes] enabled"):
        from bot.llm_notes import NotesWriter, client_from_env
    client = client_from_env(config.notes, runtime.env)  # a missing key is reported before any work
    try:
        async with open_store(runtime) as store:
            topic = await build_service(store.papers, config).check_topic(topic)
            writer = NotesWriter(store.notes, client, config.notes, clock=runtime.clock, fulltext=store.fulltext)
            with track("notes", unit="papers", log=log) as progress:
                report = await writer.run(topic, limit, progress)
    finally:
        await client.close()
    print(report.summary())
    for arxiv_id, reason in report.failed.items():
        print(f"  {arxiv_id}: {reason}")
    return EXIT_OK if report.ok else EXIT_FETCH_FAILED


async def fetch_full_texts(runtime: Runtime, topic: str | None, limit: int | None) -> int:
    from bot.progress import track

    config = runtime.config
    if not config.fulltext.enabled:
        raise UserError("fetching full text is disabled in the config ([fulltext] enabled = false)")
    async with open_store(runtime) as store:
        topic = await build_service(store.papers, config).check_topic(topic)
        fetcher = build_fulltext_fetcher(runtime, store)
        try:
            with track("full text", unit="papers", log=log) as progress:
                report = await fetcher.run(topic, limit, progress)
        finally:
            await fetcher.close()
    print(report.summary())
    for arxiv_id, reason in report.unavailable.items():
        print(f"  {arxiv_id}: {reason}")
    return EXIT_OK if report.ok else EXIT_FETCH_FAILED


async def ask_papers(runtime: Runtime, args: argparse.Namespace) -> int:
    """`paperbot ask ID QUESTION [--json]` or `paperbot ask --topic NAME QUESTION [-o FILE]`."""
    from bot.progress import track

    config = runtime.config
    if not config.notes.enabled:
        raise UserError("questions need the language model of [notes], which is disabled in the config ([notes] enabled = false)")
    with needs_extra("llm", "asking questions", config.source, "[notes] enabled"):
        from bot.ask import BudgetSpent, PaperAsker, answer_reply, check_question
        from bot.llm_notes import NotesWriter, PaperFailed, ServiceFailed, client_from_env
    if args.topic is None and args.output is not None:
        raise UserError("-o/--output is for a topic's report; add --topic NAME, or leave -o out")
    if args.topic is None and len(args.words) < 2:
        raise UserError("ask needs a paper id and a question, e.g. paperbot ask 2505.20665 which datasets are used?")
    question = check_question(" ".join(args.words if args.topic is not None else args.words[1:]))
    client = client_from_env(config.notes, runtime.env)
    try:
        async with open_store(runtime) as store:
            service = build_service(store.papers, config)
            writer = NotesWriter(store.notes, client, config.notes, clock=runtime.clock, fulltext=store.fulltext)
            if args.topic is None:
                paper = await service.show(args.words[0])
                fetcher = build_fulltext_fetcher(runtime, store) if config.fulltext.enabled else None
                try:
                    answer = await PaperAsker(writer, store.fulltext, fetcher).ask(paper, question)
                except (BudgetSpent, ServiceFailed, PaperFailed) as error:
                    print(f"no answer: {error.message}", file=sys.stderr)
                    return EXIT_FETCH_FAILED
                finally:
                    if fetcher is not None:
                        await fetcher.close()
                if args.json:
                    print_json(answer.as_json())
                    return EXIT_OK
                return print_reply(answer_reply(answer, paper.url))
            topic = await service.check_topic(args.topic)
            count = next((t.paper_count for t in await store.papers.topics() if t.topic.name == topic), 0)
            papers = await store.papers.latest(topic, count) if count else []
            if not papers:
                raise UserError(f"topic '{topic}' has no papers to ask about")
            with track("ask", unit="papers", log=log) as progress:
                report = await PaperAsker(writer, store.fulltext).ask_topic(papers, question, progress)
    finally:
        await client.close()
    text = report.markdown(topic or "", runtime.clock.now().date().isoformat())
    if args.json:
        print_json({"question": question, "topic": topic, "answers": [a.as_json() for a in report.answers.values()],
                    "failed": report.failed, "not_asked": [p.arxiv_id for p in report.not_asked], "stopped": report.stopped})
    elif args.output is not None:
        write_report(args.output, text)
        print(f"report written to {args.output}")
    else:
        print(text)
    print(report.summary(), file=sys.stderr if args.output is None else sys.stdout)
    return EXIT_OK if report.ok else EXIT_FETCH_FAILED


def write_report(path: Path, text: str) -> None:
    """Write beside the target, then rename over it: a failed write never leaves half a report."""
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise UserError(f"cannot write the report to {path}: {error.strerror or error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    # A byte that is not UTF-8 (in argv it arrives as a lone surrogate; a strict stdin raises
    # on it) must become a "?" in the answer, not a UnicodeError that ends the command or the console.
    for stream in (sys.stdin, sys.stdout):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(only=named_command(words)).parse_args(words)
    setup_logging("DEBUG" if args.verbose else "INFO")
    try:
        return asyncio.run(run_command(args))
    except UserError as error:  # ConfigError, IngestError, StoreError, QuerySyntaxError
        print(f"error: {for_command_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `paperbot show ... | head`: the reader left; say nothing more, like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def run_as_program() -> int:
    """The `paperbot` script and `python -m bot`: `main`, in a process that ends when it returns.

    Before the process ends, what it made (the modules, classes and functions of some 400 modules)
    is frozen out of the cyclic garbage collector's way (`gc.freeze`): the interpreter's exit would
    otherwise walk all of it in full collections, about a tenth of a lookup (issue 18), to free
    memory the process is giving back anyway. Exit handlers, flushing and closing run as before."""
    status = main()
    gc.freeze()
    return status
