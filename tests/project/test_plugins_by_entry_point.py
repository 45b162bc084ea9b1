"""Adapters and stores found through entry points; extras; a missing SDK as a clear config error.

The installed package metadata is the real one (the editable install of this
checkout). A missing extra is simulated the way Python sees one: the SDK's
module is unimportable (`sys.modules[name] = None`) and paperbot's modules that
import it are not loaded yet, so the plugin's own import fails as it would in
an install without the extra.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest

from bot import cli
from bot.app import Runtime, assemble, open_store
from bot.commands.ask import NOT_SET_UP
from bot.config import load_config
from bot.errors import ConfigError
from bot.plugins import ADAPTERS, STORES, AdapterContext, AdapterPlugin, Plugins, own_entry_points, shown_location, store_scheme
from store.sqlite.plugin import sqlite_path
from tests.support import OFFLINE_CONFIG, ROOT, console_bot, run_paperbot

PYPROJECT = ROOT / "pyproject.toml"
SDKS = ("slack_bolt", "slack_sdk", "discord", "openai", "aiohttp")
# What issue 18 will forbid on the lookup path, beside the SDKs.
HEAVY = (*SDKS, "arxiv", "rich")
SLACK_TOKEN = "xoxb-1111-2222-fakebottokenvalue"


def requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def offline_config():
    return load_config(OFFLINE_CONFIG, explicit=True)


# --- what the package declares ---------------------------------------------------------------------


def test_the_core_install_has_no_platform_sdk_and_each_extra_brings_its_own():
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert requirement_names(project["dependencies"]).isdisjoint({"discord.py", "slack-bolt", "slack-sdk", "openai", "asyncpg"})
    extras = project["optional-dependencies"]
    assert requirement_names(extras["slack"]) == {"slack-bolt", "slack-sdk", "aiohttp"}
    assert requirement_names(extras["discord"]) == {"discord.py"}
    assert requirement_names(extras["llm"]) == {"openai"}
    assert requirement_names(extras["postgres"]) == {"asyncpg"}
    assert extras["all"] == ["paperbot[slack,discord,llm,postgres]"]


def test_the_installed_entry_points_are_the_declared_plugins():
    declared = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["entry-points"]
    for group in (ADAPTERS, STORES):
        installed = {entry.name: entry.value for entry in metadata.entry_points(group=group)}
        assert installed == declared[group], f"reinstall the checkout (make test does): {group} differs"
        # What a lookup reads instead of scanning every distribution: the same declarations.
        assert {entry.name: entry.value for entry in own_entry_points(group).values()} == declared[group]
    sqlite = metadata.entry_points(group=STORES)["sqlite"].load()
    assert Plugins().store("data/x.db") is own_entry_points(STORES)["sqlite"].load() is sqlite
    plugins = Plugins().adapters()
    assert {name: plugin.role for name, plugin in plugins.items()} == {
        "console": "console", "discord": "chat", "discord-webhook": "webhook", "slack": "chat", "slack-webhook": "webhook",
    }
    assert plugins["slack"].token == "SLACK_BOT_TOKEN" and plugins["discord"].token == "DISCORD_TOKEN"
    assert plugins["discord-webhook"].claims("https://discord.com/api/webhooks/1/x") and plugins["slack-webhook"].claims is None


def modules_after(code: str, *args: str, env: dict[str, str] | None = None) -> tuple[set[str], subprocess.CompletedProcess]:
    """Run `code` in a fresh interpreter; the modules it had loaded at the end."""
    script = code + "\nimport json, sys\nprint('MODULES=' + json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    result = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env,
    )
    line = [line for line in result.stderr.splitlines() if line.startswith("MODULES=")]
    assert line, result.stderr
    return set(json.loads(line[-1].removeprefix("MODULES="))), result


def test_loading_every_adapter_plugin_imports_no_sdk():
    loaded, _ = modules_after("from bot.plugins import Plugins\nassert len(Plugins().adapters()) == 5")
    assert {name.split(".")[0] for name in loaded}.isdisjoint(SDKS)
    assert not {"adapters.slack.app", "adapters.discord.client", "adapters.webhook_http"} & loaded


def bare_environment(db) -> dict[str, str]:
    """Nothing of this machine's environment but PATH, and the config stamps kept in the run's folder."""
    return {
        "PATH": "/usr/bin:/bin", "PAPERBOT_DB": str(db), "PAPERBOT_CONFIG": str(OFFLINE_CONFIG),
        "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"],
    }


def test_a_lookup_loads_its_store_plugin_and_no_adapter_or_sdk(tmp_path):
    env = bare_environment(tmp_path / "none.db")
    loaded, result = modules_after("import sys\nfrom bot.cli import main\nmain(sys.argv[1:])", "topics", env=env)
    assert result.returncode == 0 and result.stdout.startswith("Topics")
    assert "store.sqlite.plugin" in loaded
    assert not [name for name in loaded if name.split(".")[0] in (*HEAVY, "adapters")]


# --- stores by URL scheme ----------------------------------------------------------------------------


def test_a_store_is_chosen_by_the_scheme_of_db_and_a_bare_path_is_sqlite():
    assert store_scheme("data/paperbot.db") == store_scheme(":memory:") == store_scheme("sqlite:///data/x.db") == "sqlite"
    assert store_scheme("postgresql://bob@db/papers") == "postgresql"
    assert sqlite_path("sqlite:///data/x.db") == "data/x.db" and sqlite_path("sqlite:////srv/x.db") == "/srv/x.db"
    assert sqlite_path("data/x.db") == "data/x.db"
    assert shown_location("postgresql://bob:hunter2@db:5432/papers") == "postgresql://bob:***@db:5432/papers"
    assert shown_location("data/x.db") == "data/x.db"


async def test_a_sqlite_url_opens_the_file_it_names(tmp_path):
    runtime = Runtime(db_path=f"sqlite:///{tmp_path}/url.db", config=offline_config())
    async with open_store(runtime) as store:
        await store.papers.set_meta("written", "through the url")
    bare = Runtime(db_path=str(tmp_path / "url.db"), config=offline_config())
    assert bare.store_exists()
    async with open_store(bare, read_only=True) as store:
        assert await store.papers.get_meta("written") == "through the url"


@pytest.mark.subprocess
def test_an_uninstalled_store_scheme_is_exit_status_2_and_shows_no_password(tmp_path):
    result = run_paperbot("topics", "--db", "mysql://bob:hunter2@db.example/papers", db=tmp_path / "unused.db")
    assert result.returncode == 2
    assert "no store for mysql:// locations is installed (installed: postgres, postgresql, sqlite)" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


# --- missing extras ------------------------------------------------------------------------------------


def without(monkeypatch: pytest.MonkeyPatch, *packages: str) -> None:
    """Make `packages` unimportable, and unload paperbot's modules built on them (not the plugin declarations)."""
    for name in list(sys.modules):
        top = name.split(".")[0]
        ours = name.startswith(("adapters.slack.", "adapters.discord.")) or name == "adapters.webhook_http"
        if top in packages or (ours and not name.endswith(".plugin")):
            monkeypatch.delitem(sys.modules, name)
    for name in packages:
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize("packages,variable,extra", [
    (("slack_bolt", "slack_sdk"), "SLACK_BOT_TOKEN", "slack"),
    (("discord",), "DISCORD_TOKEN", "discord"),
], ids=["slack", "discord"])
async def test_a_token_set_for_a_platform_whose_extra_is_missing_is_a_config_error_naming_pip_install(
    tmp_path, monkeypatch, packages, variable, extra
):
    without(monkeypatch, *packages)
    runtime = Runtime(db_path=str(tmp_path / "p.db"), config=offline_config(), env={variable: "a-token-value"})
    async with open_store(runtime) as store:
        with pytest.raises(ConfigError) as raised:
            await assemble(runtime, store, stdin=io.StringIO())
    text = str(raised.value)
    assert text.startswith(f"environment: {variable}: the {extra} adapter needs the Python package {packages[0]}")
    assert f"pip install 'paperbot[{extra}]'" in text and "a-token-value" not in text


async def test_a_webhook_poster_whose_extra_is_missing_leaves_the_rest_of_the_bot_running(tmp_path, monkeypatch):
    without(monkeypatch, "discord")
    runtime = Runtime(db_path=str(tmp_path / "p.db"), config=offline_config(), env={})
    async with open_store(runtime) as store:
        bot = await assemble(runtime, store, stdin=io.StringIO(), stdout=io.StringIO())
        async with bot.running():
            routes = {route.name: route for route in bot.adapters["webhook"].routes}
            assert routes["slack-webhook"].poster is not None and routes["discord-webhook"].poster is None
            assert "pip install 'paperbot[discord]'" in routes["discord-webhook"].missing
            assert "console" in bot.adapters


def test_paperbot_run_with_a_token_but_without_the_extra_exits_2_before_creating_a_store(tmp_path):
    db = tmp_path / "first-run.db"
    code = "\n".join([
        "import sys",
        "sys.modules['slack_bolt'] = sys.modules['slack_sdk'] = None  # installed without the [slack] extra",
        "from bot.cli import main",
        "sys.exit(main(['run']))",
    ])
    env = bare_environment(db)
    env["SLACK_BOT_TOKEN"] = SLACK_TOKEN
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    assert result.returncode == 2, result.stderr
    assert "error: environment: SLACK_BOT_TOKEN: the slack adapter needs the Python package slack_bolt" in result.stderr
    assert "pip install 'paperbot[slack]'" in result.stderr and SLACK_TOKEN not in result.stderr
    assert not db.exists()


def test_machine_notes_without_the_llm_extra_are_exit_status_2_naming_pip_install(tmp_path, monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "bot.llm_notes", raising=False)
    monkeypatch.setitem(sys.modules, "openai", None)
    config = tmp_path / "notes.toml"
    config.write_text(OFFLINE_CONFIG.read_text(encoding="utf-8") + '\n[notes]\nenabled = true\nmodel = "m"\n', encoding="utf-8")
    db = tmp_path / "notes.db"
    assert cli.main(["notes", "--config", str(config), "--db", str(db)]) == 2
    error = capsys.readouterr().err
    assert "[notes] enabled: writing machine notes needs the Python package openai" in error
    assert "pip install 'paperbot[llm]'" in error and not db.exists()


async def test_without_the_llm_extra_every_command_answers_and_ask_says_no_model_is_set_up(tmp_path, monkeypatch):
    for name in ("bot.ask", "bot.llm_notes"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "openai", None)
    async with console_bot(tmp_path / "p.db") as console:
        assert "Latest papers" in (await console.say("/paper latest")).text
        reply = await console.say("/paper ask 2505.20665 which datasets are used?")
    assert reply == NOT_SET_UP


# --- plugins from elsewhere --------------------------------------------------------------------------


class RecordingAdapter:
    """A chat adapter from "another package": records its lifecycle."""

    name = "recorder"

    def __init__(self, context: AdapterContext) -> None:
        self.context = context
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")

    async def post_digest(self, subscription, reply):
        return []

    async def find_digest(self, subscription, key):
        return None


RECORDER = AdapterPlugin("tests.project.test_plugins_by_entry_point:RecordingAdapter", role="chat", token="RECORDER_TOKEN")


def with_entry_points(*extra: metadata.EntryPoint) -> Plugins:
    """The installed plugins plus `extra`, as if another installed package declared them."""
    return Plugins(lambda group: [*metadata.entry_points(group=group), *(e for e in extra if e.group == group)])


async def test_an_adapter_another_package_declares_is_found_built_and_run_like_paperbots_own(tmp_path):
    plugins = with_entry_points(metadata.EntryPoint("recorder", "tests.project.test_plugins_by_entry_point:RECORDER", ADAPTERS))
    runtime = Runtime(db_path=str(tmp_path / "p.db"), config=offline_config(), env={"RECORDER_TOKEN": "x"}, plugins=plugins)
    async with open_store(runtime) as store:
        bot = await assemble(runtime, store, stdin=io.StringIO())
        recorder = bot.adapters["recorder"]
        assert list(bot.adapters) == ["webhook", "recorder"]  # a chat adapter runs: no console
        assert recorder.context.router is bot.router and recorder.context.papers is store.papers
        async with bot.running():
            assert recorder.events == ["start"]
        assert recorder.events == ["start", "stop"]


def test_an_entry_point_whose_import_fails_is_a_config_error_naming_it():
    plugins = with_entry_points(metadata.EntryPoint("broken", "paperbot_no_such_module:plugin", ADAPTERS))
    with pytest.raises(ConfigError) as raised:
        plugins.adapters()
    assert "adapter plugin broken (paperbot_no_such_module:plugin)" in str(raised.value)
    assert "cannot be loaded" in str(raised.value) and "pip install" in str(raised.value)
