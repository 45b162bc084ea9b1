"""What a command reads before, or instead of, the validated config model: paths, the environment,
and a lookup's few settings from a config file the model has already accepted.

Why this exists apart from `bot.config`: the model is pydantic, and importing pydantic and
building the models cost a `paperbot latest` about a third of its whole run (issue 18).
A lookup uses four settings of the file (`LookupSettings`). The model still checks every
file before a lookup uses it, so a bad config is the same error, with the same message, as
for any command; what it accepted is remembered in a small stamp file (`$XDG_CACHE_HOME/paperbot`,
else `~/.cache/paperbot`) holding the file's exact text, paperbot's code version and those
settings, and a lookup whose file and code match its stamp skips the model. A stamp that cannot
be read or written only means the model checks the file again. Not in the stamp: the versions of
pydantic and of the time-zone data (a file they would now refuse is still refused by every command
that loads the whole config, `run` among them), and a `[notes] prompt_file` (a config naming one is
never stamped).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar
from urllib.parse import quote

if TYPE_CHECKING:
    from bot.config import FileConfig

DEFAULT_DB_PATH = "data/paperbot.db"
DEFAULT_CONFIG_PATH = "config/paperbot.toml"
DEFAULT_ARXIV_API_URL = "https://export.arxiv.org/api/query"
DEFAULT_ARXIV_WEB_URL = "https://arxiv.org"
# The modules whose code decides whether a config is valid (the model and its validators'
# query, schedule and filter parsers): a change to any of them makes every stamp stale.
_CHECKING_CODE = (Path(__file__).parent, Path(__file__).parent / "ingest")

_Default = TypeVar("_Default", str, None)


def _from_environment(name: str, default: _Default) -> Callable[[], str | _Default]:
    """The variable's value, matched regardless of case (`PAPERBOT_DB` or `paperbot_db`).

    Only the names are read until one matches: reading every value (`os.environ.items()`) for
    each of these settings cost a lookup more than a millisecond."""
    return lambda: next((os.environ[key] for key in os.environ if key.lower() == name), default)


@dataclass(frozen=True)
class EnvSettings:
    """Paths, endpoints and secrets from the environment (CLI flags override the paths).

    A plain dataclass, not a pydantic-settings class: every command reads it, and importing
    pydantic-settings cost a lookup about as much as the lookup itself."""

    paperbot_db: str = field(default_factory=_from_environment("paperbot_db", DEFAULT_DB_PATH))
    paperbot_config: str = field(default_factory=_from_environment("paperbot_config", DEFAULT_CONFIG_PATH))
    arxiv_api_url: str | None = field(default_factory=_from_environment("arxiv_api_url", None))
    arxiv_web_url: str | None = field(default_factory=_from_environment("arxiv_web_url", None))
    paperbot_log_file: str | None = field(default_factory=_from_environment("paperbot_log_file", None))


@dataclass(frozen=True)
class LookupSettings:
    """What a lookup (latest, search, show, topics, similar, recommend, saved) takes from the config
    file; always made by `FileConfig.lookup_settings`, so the model's defaults are the only ones."""

    tldr_lang: str
    log_level: str
    log_file: str
    source: str  # the file, for messages that point into it


def stamped_settings(path: str, *, explicit: bool) -> LookupSettings | None:
    """The config file's lookup settings from its stamp, when the model accepted this very text with
    this very code; None otherwise: then the model must check the file (`bot.config.load_config`),
    which also raises a bad file's `ConfigError` as for every command."""
    text = _read_text(path, explicit=explicit)
    stamp = _read_stamp(path)
    if text is not None and stamp.get("text") == text and stamp.get("code") == _code_version():
        with contextlib.suppress(KeyError, TypeError):  # a stamp of another shape: the model decides
            return LookupSettings(**stamp["settings"])
    return None


def remember(path: str, config: FileConfig, text: str) -> None:
    """Stamp `config`, which the model made from `text` (the file at `path`), so lookups may skip the model.

    A config with a prompt file is not stamped: that file is checked too, and it is not in the stamp.
    """
    if config.notes.prompt_file:
        return
    stamp = {"text": text, "code": _code_version(), "settings": asdict(config.lookup_settings())}
    if _read_stamp(path) == stamp:
        return
    target = _stamp_path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(stamp), encoding="utf-8")
        os.replace(partial, target)
    except OSError:  # a read-only home: the model checks the file every time, as it always did
        with contextlib.suppress(OSError):
            partial.unlink()


def _read_text(path: str, *, explicit: bool) -> str | None:
    """The file's text; "" for a missing file that was not named (the built-in defaults);
    None when it cannot be read or is missing though named (the model says what is wrong)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None if explicit else ""
    except (OSError, UnicodeDecodeError):
        return None


def _stamp_path(path: str) -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache, "paperbot", "config-" + quote(os.path.abspath(path), safe="") + ".json")


def _read_stamp(path: str) -> dict:
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _code_version() -> int:
    """The newest modification time of the checking code: a stamp made by other code is stale."""
    newest = 0
    for folder in _CHECKING_CODE:
        with os.scandir(folder) as entries:
            newest = max([newest, *(entry.stat().st_mtime_ns for entry in entries if entry.name.endswith(".py"))])
    return newest
