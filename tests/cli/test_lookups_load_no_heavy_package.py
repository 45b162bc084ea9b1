"""A lookup stays light: `import bot.cli` and `paperbot latest/search/show/topics` load no SDK,
no HTTP client, no scheduler, no ML library, no PDF or XML parser, neither the config model
(pydantic) nor the scan of every installed distribution (importlib.metadata), and not the libraries'
ranking (`similar`, `recommend` and `saved` build it: checked here too).

Why: a lookup is a whole process that a person waits for; every module it imports is paid on
every call (issue 18: `paperbot latest` spent 294 ms of ~360 ms importing). Each check runs a
fresh interpreter and reads its `sys.modules`, so an import added anywhere on the path shows up.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support import FIXTURES, ROOT, run_paperbot

# Not for a lookup: the chat SDKs, the model client, arXiv's API client and its HTTP stack, the
# scheduler, the terminal UI, the ranker's ML stack, the full-text parsers, mojibake repair
# (paper-list and snapshot import only), pydantic (the model checked this config before: its stamp,
# `bot.settings`, says so), importlib.metadata (paperbot's own store entry points are read directly),
# the libraries' ranking (only the lookups that rank build it: `Command.uses_ranking`) and html's
# table of entities (importers decode entities; a lookup never does).
NOT_FOR_LOOKUPS = (
    "slack_bolt", "slack_sdk", "discord", "openai", "arxiv", "requests", "apscheduler", "rich",
    "sklearn", "scipy", "numpy", "aiohttp", "lxml", "pypdf", "ftfy", "pydantic", "pydantic_settings", "adapters",
    "importlib.metadata", "bot.ranking", "html",
)
# A config with what makes a config load do work: a topic with an arXiv query, a file subscription,
# the fetch schedule, notes and full text switched on.
CONFIG = """
tldr_lang = "en"
timezone = "Europe/Berlin"

[fetch]
enabled = false
schedule = "daily 06:00"

[notes]
enabled = true
model = "test-model"

[[topics]]
name = "reward-vlm"
title = "Reward models + VLMs"
query = '(abs:"reward model" OR abs:preference) AND (abs:VLM OR abs:"vision-language")'
categories = ["cs.CV", "cs.LG"]

[[subscriptions]]
adapter = "console"
channel = "stdout"
topic = "reward-vlm"
when = "mon 09:00"
"""
LOOKUPS = (
    ("latest", "--count", "1"),
    ("search", "reward model"),
    ("show", "2505.20665"),
    ("topics",),
    ("latest", "--json"),
)


@pytest.fixture(scope="module")
def store_and_config(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A store, its config, and the cache folder where `import` (which checks the config with the model) stamped it."""
    folder = tmp_path_factory.mktemp("lookups")
    db, config, cache = folder / "papers.db", folder / "paperbot.toml", folder / "cache"
    config.write_text(CONFIG, encoding="utf-8")
    # In a subprocess: the command line sets up logging, which must not leak into later tests.
    result = run_paperbot(
        "--config", str(config), "import", str(FIXTURES / "paperlists" / "clean.md"), db=db, env={"XDG_CACHE_HOME": str(cache)}
    )
    assert result.returncode == 0, result.stderr
    return db, config, cache


def lookup_env(db: Path, config: Path, cache: Path) -> dict[str, str]:
    """A lookup's environment: the store, its config and the cache holding the config's stamp."""
    return {"PATH": "/usr/bin:/bin", "PAPERBOT_DB": str(db), "PAPERBOT_CONFIG": str(config), "XDG_CACHE_HOME": str(cache)}


def heavy_loaded_after(code: str, *args: str, env: dict[str, str]) -> tuple[list[str], str]:
    """The modules of NOT_FOR_LOOKUPS (or inside them) a fresh interpreter had loaded after running `code`, and its output."""
    script = code + "\nimport json, sys\nprint('MODULES=' + json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith("MODULES="))
    loaded = json.loads(line.removeprefix("MODULES="))
    return [name for name in loaded if name in NOT_FOR_LOOKUPS or name.split(".")[0] in NOT_FOR_LOOKUPS], result.stdout


def test_importing_the_command_line_loads_none_of_the_heavy_packages():
    heavy, _ = heavy_loaded_after("import bot.cli", env={"PATH": "/usr/bin:/bin"})
    assert not heavy, heavy


def test_every_lookup_answers_without_loading_a_heavy_package(store_and_config):
    env = lookup_env(*store_and_config)
    run_each = "\n".join([
        "import json, sys",
        "from bot.cli import main",
        "for words in json.loads(sys.argv[1]):",
        "    assert main(words) == 0, words",
    ])
    heavy, output = heavy_loaded_after(run_each, json.dumps([list(words) for words in LOOKUPS]), env=env)
    assert "Latest papers" in output and "DriveRX" in output and "reward-vlm" in output
    assert '"arxiv_id": "2505.20665"' in output  # the JSON answer came too
    assert not heavy, heavy


def test_the_lookups_that_rank_still_build_the_ranking(store_and_config):
    """`similar` reads the libraries' `Ranking`, and `saved` the votes it carries."""
    db, config, cache = store_and_config
    env = {"XDG_CACHE_HOME": str(cache)}
    similar = run_paperbot("--config", str(config), "similar", "2505.20665", db=db, env=env)
    assert similar.returncode == 0, similar.stderr
    assert "Papers like" in similar.stdout and "Why:" in similar.stdout
    saved = run_paperbot("--config", str(config), "saved", "--channel", "C1", db=db, env=env)
    assert saved.returncode == 0, saved.stderr
    assert "Reading list" in saved.stdout and "Nothing saved yet" in saved.stdout



def test_the_program_ends_without_the_collectors_full_passes(store_and_config):
    """`paperbot` (and `python -m bot`) freeze what the process made before it exits (`run_as_program`),
    so the interpreter's exit does not walk all of it (about a tenth of a lookup) for memory it gives back."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["paperbot"] == "bot.cli:run_as_program"
    assert "run_as_program()" in (ROOT / "bot" / "__main__.py").read_text(encoding="utf-8")
    run_topics = "\n".join([
        "import gc, sys",
        "from bot.cli import run_as_program",
        "sys.argv[1:] = ['topics']",
        "print('ended', run_as_program(), 'frozen' if gc.get_freeze_count() else 'not frozen')",
    ])
    heavy, output = heavy_loaded_after(run_topics, env=lookup_env(*store_and_config))
    assert "reward-vlm" in output and output.splitlines()[-1] == "ended 0 frozen"
    assert not heavy, heavy
