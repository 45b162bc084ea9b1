"""What the README claims is what the product does, checked against the code and by running it.

The README is the first thing a new user and an operator read; every claim
here was once false (a `--json` key list missing keys, one Slack manifest key
of two, benchmarks run with a `python` that has no paperbot). So the claims
are extracted from the README, not copied into the tests: the config key
reference against `bot.config`'s models (both ways, defaults included), the
`--json` keys against what the commands print, the log lines against a real
run, the restore steps against a real crash, the options against the parsers.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import threading
import tomllib
import typing
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from adapters.slack.settings import EVENTS_PATH
from bot import cli
from bot.config import EnvSettings, FileConfig
from store.sqlite import schema
from tests.support import EXAMPLE_LIST, OFFLINE_CONFIG, ROOT, SHIPPED_CONFIG
from tests.support.fake_arxiv import FakeArxiv, FakePaper

README = (ROOT / "README.md").read_text()
CLEAN_LIST = ROOT / "tests" / "fixtures" / "paperlists" / "clean.md"


def readme_section(title: str) -> str:
    """The text under a `## title` or `### title` heading, up to the next heading of that level or above."""
    match = re.search(rf"^(#+) {re.escape(title)}\n", README, re.M)
    assert match, f"README has no section {title!r}"
    level = len(match[1])
    rest = README[match.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def paragraph_starting(text: str, start: str) -> str:
    at = text.index(start)
    end = text.find("\n\n", at)
    return text[at:] if end < 0 else text[at:end]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[^\n]*\n(.*?)```", text, re.S)


# --- the configuration reference ---------------------------------------------------------


def model_of(annotation: object) -> type[BaseModel] | None:
    """The config model a field holds (a table, or an array of tables), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def config_models() -> dict[str, type[BaseModel]]:
    """'' -> FileConfig's plain keys; 'fetch', 'topics', ... -> the model of that table."""
    models: dict[str, type[BaseModel]] = {"": FileConfig}
    for name, field in FileConfig.model_fields.items():
        model = model_of(field.annotation)
        if model is not None:
            models[name] = model
    return models


def model_keys(section: str) -> dict[str, object]:
    """The keys of a section with their pydantic field info (nested tables excluded)."""
    fields = config_models()[section].model_fields
    return {name: field for name, field in fields.items() if not (section == "" and model_of(field.annotation))}


def reference_tables() -> dict[str, dict[str, tuple[str, str]]]:
    """The README's reference: section -> key -> (type, default), from the tables under each intro line."""
    tables: dict[str, dict[str, tuple[str, str]]] = {}
    current: str | None = None
    for line in readme_section("Configuration reference").splitlines():
        intro = re.match(r"^`\[\[?([a-z_]+)\]\]?`", line)
        if intro:
            current = intro[1]
        elif line.startswith("Top level"):
            current = ""
        elif line.startswith("| `") and current is not None:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            key, type_text, default = cells[0].strip("`"), cells[1], cells[2]
            assert key not in tables.setdefault(current, {}), f"{key} listed twice in [{current}]"
            tables[current][key] = (type_text, default)
    return tables


def test_the_reference_lists_every_config_section_and_key_and_nothing_else():
    tables = reference_tables()
    assert set(tables) == set(config_models()), set(tables) ^ set(config_models())
    for section, rows in tables.items():
        keys = set(model_keys(section))
        assert set(rows) == keys, (
            f"[{section}]: missing {sorted(keys - set(rows))}, not in bot/config.py {sorted(set(rows) - keys)}"
        )


def test_the_reference_gives_each_keys_real_default():
    for section, rows in reference_tables().items():
        fields = model_keys(section)
        for key, (_, default) in rows.items():
            field = fields[key]
            where = f"[{section}] {key}"
            if default == "required":
                assert field.is_required(), where
            elif default == "unset":
                assert not field.is_required() and field.default is None, where
            else:
                assert re.fullmatch(r"`[^`]+`", default), f"{where}: default {default!r} is not a TOML value in backticks"
                assert tomllib.loads(f"value = {default.strip('`')}")["value"] == field.default, where


def test_the_reference_defaults_are_the_ones_the_shipped_config_spells_out():
    """The shipped config repeats the defaults it lists; where it does, the reference agrees with it."""
    shipped = tomllib.loads(SHIPPED_CONFIG.read_text())
    tables = reference_tables()
    for section, values in [("", shipped), *((name, shipped[name]) for name in ("fetch", "notes"))]:
        for key, value in values.items():
            if isinstance(value, (dict, list)):
                continue
            assert tomllib.loads(f"value = {tables[section][key][1].strip('`')}")["value"] == value, (section, key)


def test_every_path_and_endpoint_variable_is_in_the_environment_table():
    table = readme_section("Environment variables")
    for name in (variable.name for variable in dataclasses.fields(EnvSettings)):
        assert f"`{name.upper()}`" in table, name


# --- the command line ------------------------------------------------------------------------


def subcommands() -> dict[str, object]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)


def test_every_command_and_option_is_in_the_command_line_synopsis():
    section = readme_section("Command line")
    synopsis = code_blocks(section)[0].splitlines()
    global_options = [s for a in cli.build_parser()._actions for s in a.option_strings if s not in ("-h", "--help", "--version")]
    assert all(option in synopsis[0] for option in global_options), synopsis[0]
    assert "`-v`" in section, "the text says what -v does"
    for name, sub in subcommands().items():
        lines = [line for line in synopsis if line.startswith(f"paperbot {name} ") or line == f"paperbot {name}"]
        assert lines, f"paperbot {name} is not in the synopsis"
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help", *global_options):
                    assert option in lines[0], f"paperbot {name} {option} is not in the synopsis"


def printed_json(capsys, *words: str) -> object:
    code = cli.main(list(words))
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return yaml.safe_load(out)  # JSON is YAML


def test_the_json_keys_the_readme_lists_are_the_keys_the_commands_print(paperbot, tmp_path, capsys):
    db, config = tmp_path / "paperbot.db", tmp_path / "paperbot.toml"
    config.write_text(
        'example_data = false\n[fetch]\nenabled = false\n'
        '[[topics]]\nname = "reward-model-vlm"\nquery = \'abs:"reward model"\'\n'
        '[[subscriptions]]\nadapter = "console"\nchannel = "docs"\ntopic = "reward-model-vlm"\n'
    )
    base = ["--db", str(db), "--config", str(config)]
    assert cli.main([*base, "import", str(EXAMPLE_LIST)]) == 0
    assert paperbot(*base, "run", db=db).returncode == 0  # syncs the config's subscription, then the input ends

    latest = printed_json(capsys, *base, "latest", "--json")
    search = printed_json(capsys, *base, "search", "reward", "--json")
    show = printed_json(capsys, *base, "show", "2505.20665", "--json")
    topics = printed_json(capsys, *base, "topics", "--json")
    status = printed_json(capsys, *base, "status", "--json")
    assert latest and search and status["subscriptions"] and status["fetches"] and show["notes"]["headline"]
    printed = {
        "latest": set(latest[0]), "search": set(search[0]), "show": set(show) | set(show["notes"]),
        "topics": set(topics[0]),
        "status": set(status) | set(status["subscriptions"][0]) | set(status["fetches"][0]),
    }
    documented = set(re.findall(r"`([a-z_]+)`", paragraph_starting(readme_section("Command line"), "`--json` prints")))
    values = {"clean", "repaired", "damaged"}
    for command, keys in printed.items():
        assert keys <= documented, f"{command} --json prints keys the README does not list: {sorted(keys - documented)}"
    assert documented - values - set(printed) <= set().union(*printed.values()), "the README lists keys no command prints"


# --- what the product prints ---------------------------------------------------------------------


def normalised(line: str) -> str:
    """A log line without what changes from run to run: times, the endpoint, OS error texts, durations."""
    line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z", "<time>", line)
    line = re.sub(r"(?:export\.arxiv\.org|127\.0\.0\.1:\d+)/api/query", "<api>", line)
    line = re.sub(r"\(\[Errno [^\]]*\][^)]*\)", "(<os error>)", line)
    return re.sub(r"\d+\.\d s\b", "<seconds> s", line)


def readme_log_lines(text: str) -> list[str]:
    return [line for block in code_blocks(text) for line in block.splitlines() if re.match(r"\d{4}-\d\d-\d\dT", line)]


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_quickstart_start_up_lines_are_what_make_run_prints_offline(tmp_path):
    """`make run` is `paperbot run` in the checkout: the shipped config, the default store, the console."""
    documented = readme_log_lines(readme_section("Quickstart"))
    assert len(documented) >= 5
    env = {name: value for name, value in os.environ.items() if not name.startswith(("PAPERBOT_", "SLACK_", "DISCORD_"))}
    # Nothing listens on port 9: arXiv is "unreachable" without the test reaching the internet.
    env.update(PAPERBOT_CONFIG=str(SHIPPED_CONFIG), ARXIV_API_URL="http://127.0.0.1:9/api/query")
    bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env, text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchdog = threading.Timer(90, bot.kill)
    watchdog.start()
    printed = []
    try:
        for line in bot.stderr:  # the console's input stays open until the start-up is over
            printed.append(line.rstrip("\n"))
            if "arXiv is unreachable" in line:
                break
        bot.stdin.close()
        printed += bot.stderr.read().splitlines()
        assert bot.wait(timeout=60) == 0, printed
    finally:
        watchdog.cancel()
        bot.kill()
    assert (tmp_path / "data" / "paperbot.db").exists()
    real = {normalised(line) for line in printed}
    for line in documented:
        assert normalised(line) in real, f"{line}\n  is not what `paperbot run` prints:\n" + "\n".join(printed)


def test_the_fetch_log_lines_are_what_paperbot_fetch_prints(tmp_path, capsys, monkeypatch):
    documented = readme_log_lines(readme_section("Topics and fetching from arXiv"))
    assert any("retrying" in line for line in documented) and any("unreachable" in line for line in documented)
    # The shipped config, without its waits (the lines are the same; only the seconds differ).
    config = tmp_path / "paperbot.toml"
    config.write_text(re.sub(r"^(delay_seconds|backoff_seconds) = \d+", r"\1 = 0", SHIPPED_CONFIG.read_text(), flags=re.M))
    base = ["--db", str(tmp_path / "paperbot.db"), "--config", str(config), "fetch"]
    now = datetime.now(timezone.utc)
    papers = [
        FakePaper(f"2611.{n:05d}", title=f"Reward model {n}", published=now - timedelta(days=2, hours=n)) for n in range(1, 8)
    ]
    printed: list[str] = []
    with FakeArxiv(papers) as fake:
        monkeypatch.setenv("ARXIV_API_URL", fake.url)
        assert cli.main(base) == 0
        fake.fail(503, times=20)
        assert cli.main(base) == 1
    printed += capsys.readouterr().err.splitlines()
    monkeypatch.setenv("ARXIV_API_URL", "http://127.0.0.1:9/api/query")
    assert cli.main(base) == 1
    printed += capsys.readouterr().err.splitlines()
    real = {normalised(line) for line in printed}
    for line in documented:
        assert normalised(line) in real, f"{line}\n  is not what `paperbot fetch` prints:\n" + "\n".join(printed)


def test_a_topic_an_import_created_is_never_fetched(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ARXIV_API_URL", "http://127.0.0.1:9/api/query")  # were it tried, it would fail, not go out
    base = ["--db", str(tmp_path / "paperbot.db"), "--config", str(SHIPPED_CONFIG)]
    assert cli.main([*base, "import", str(CLEAN_LIST), "--topic", "imported-only"]) == 0
    capsys.readouterr()
    assert cli.main([*base, "fetch", "--topic", "imported-only"]) == 2
    assert "imported-only" in capsys.readouterr().err
    assert "is never fetched from arXiv" in paragraph_starting(readme_section("Paper lists"), "The variants")


# --- backups and upgrades --------------------------------------------------------------------------


def _store_with_backup(tmp_path: Path, capsys) -> tuple[Path, Path, str]:
    db, copy = tmp_path / "paperbot.db", tmp_path / "backup.db"
    base = ["--db", str(db), "--config", str(OFFLINE_CONFIG)]
    assert cli.main([*base, "import", str(EXAMPLE_LIST)]) == 0
    capsys.readouterr()
    assert cli.main([*base, "backup", str(copy)]) == 0
    summary = capsys.readouterr().out.strip()
    return db, copy, summary


def _title(db: Path, capsys) -> str:
    assert cli.main(["--db", str(db), "--config", str(OFFLINE_CONFIG), "show", "2505.20665", "--json"]) == 0
    return yaml.safe_load(capsys.readouterr().out)["title"]


def _crash_after_a_commit(db: Path) -> None:
    """Another process commits a change and dies before any checkpoint: the change lives only in the -wal."""
    code = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "conn.execute(\"UPDATE papers SET title = 'changed after the backup' WHERE arxiv_id = '2505.20665'\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code, str(db)], check=True, timeout=60)
    assert Path(f"{db}-wal").stat().st_size > 0


@pytest.mark.subprocess
def test_the_documented_restore_gives_back_the_backup_even_after_a_crash(paperbot, tmp_path, capsys):
    db, copy, summary = _store_with_backup(tmp_path, capsys)
    original = _title(db, capsys)
    _crash_after_a_commit(db)
    assert _title(db, capsys) == "changed after the backup"

    restore = code_blocks(readme_section("Backups").split("To restore", 1)[1])[0]
    assert re.search(r"rm -f \S+\.db-wal \S+\.db-shm", restore), restore
    backup_help = paperbot("backup", "--help", db=db)
    assert backup_help.returncode == 0 and "-wal and -shm" in " ".join(backup_help.stdout.split())

    # Without the documented deletion, SQLite replays the old store's -wal onto the restored copy.
    careless = tmp_path / "careless"
    careless.mkdir()
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{db}{suffix}").exists():
            (careless / f"paperbot.db{suffix}").write_bytes(Path(f"{db}{suffix}").read_bytes())
    (careless / "paperbot.db").write_bytes(copy.read_bytes())
    assert _title(careless / "paperbot.db", capsys) != original

    # The documented steps: delete -wal and -shm, put the copy in place.
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(copy.read_bytes())
    assert _title(db, capsys) == original


def test_the_backup_line_in_the_readme_has_the_shape_backup_prints(tmp_path, capsys):
    _, _, summary = _store_with_backup(tmp_path, capsys)
    shape = r"backed up \S+ to \S+: [\d,]+ papers, \d+\.\d MB"
    assert re.fullmatch(shape, summary), summary
    documented = " ".join(re.search(r"`(backed up [^`]+)`", readme_section("Backups"), re.S)[1].split())
    assert re.fullmatch(shape, documented), documented


def test_a_store_from_a_newer_paperbot_is_refused_by_every_command_as_the_readme_says(tmp_path, capsys):
    db = tmp_path / "paperbot.db"
    base = ["--db", str(db), "--config", str(OFFLINE_CONFIG)]
    assert cli.main([*base, "import", str(EXAMPLE_LIST)]) == 0
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {len(schema.MIGRATIONS) + 1}")
    conn.close()
    capsys.readouterr()
    documented = next(
        line for block in code_blocks(readme_section("Upgrades")) for line in block.splitlines() if line.startswith("error:")
    )

    def shape(line: str, path: str) -> str:
        return re.sub(r"\d+", "N", line.replace(path, "PATH"))

    for command in (["latest"], ["status"], ["run"], ["import", str(EXAMPLE_LIST)]):
        assert cli.main([*base, *command]) == 2, command
        err = capsys.readouterr().err.strip()
        assert shape(err, str(db)) == shape(documented, "data/paperbot.db"), (command, err)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(schema.MIGRATIONS) + 1  # nothing changed
    conn.close()


# --- Slack, benchmarks, licence -----------------------------------------------------------------------


def test_the_readmes_http_mode_steps_give_a_manifest_that_sends_everything_to_the_events_path():
    """The manifest ships for Socket Mode with its HTTP-mode URLs commented out; the README says which to turn on."""
    steps = paragraph_starting(readme_section("Add to Slack"), "HTTP mode instead")
    url = re.search(r"`(https://[^`]+)`", steps)[1]
    named = set(re.findall(r"`([a-z_]+)`", steps))
    manifest = (ROOT / "config" / "slack-manifest.yaml").read_text()
    commented = set(re.findall(r"^\s*# ([a-z_]+): https://", manifest, re.M))
    assert commented and commented <= named, f"the README does not say to uncomment {sorted(commented - named)}"

    def apply(line: str) -> str:
        found = re.match(r"^(\s*)# ([a-z_]+): https://\S+", line)
        return f"{found[1]}{found[2]}: {url}" if found and found[2] in named else line

    edited = yaml.safe_load("\n".join(apply(line) for line in manifest.splitlines()))
    assert "`socket_mode_enabled: false`" in steps
    assert edited["features"]["slash_commands"][0]["url"] == url
    assert edited["settings"]["interactivity"]["request_url"] == url
    assert url.endswith(EVENTS_PATH)


@pytest.mark.subprocess
def test_benchmarks_are_run_with_the_projects_virtualenv_and_with_options_they_accept():
    assert not re.search(r"(?<!\.venv/bin/)\bpython3? benchmarks/", README), "run benchmarks with .venv/bin/python"
    commands = [" ".join(span.split()) for span in re.findall(r"`(\.venv/bin/python\s+benchmarks/[^`]+)`", README)]
    assert commands
    for command in commands:
        words = shlex.split(command)
        script = ROOT / words[1]
        assert script.exists(), command
        options = [word for word in words[2:] if word.startswith("--")]
        if options:
            usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT)
            assert usage.returncode == 0, usage.stderr
            for option in options:
                assert option in usage.stdout, f"{command}: {script.name} has no {option}"


def test_the_licence_file_is_the_one_pyproject_declares():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    text = (ROOT / "LICENSE").read_text()
    assert declared == "MIT"
    assert text.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in text
