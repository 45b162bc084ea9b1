"""The `paperbot` command as a user runs it, on a real store file.

Most cases run `bot.cli.main` in this process (the `paperbot` fixture: the same argv,
environment, output and exit status); `run` on stdin, SIGTERM and the installed script run
as real subprocesses, since only a process shows them.
"""

import argparse
import contextlib
import io
import json
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import build_parser, named_command
from tests.support import EXAMPLE_LIST, OFFLINE_CONFIG, ROOT, run_paperbot

LIST_KEYS = {"arxiv_id", "version", "title", "authors", "published", "url", "pdf_url", "code_url", "topics", "tldr"}
SHOW_KEYS = LIST_KEYS | {"abstract", "notes", "notes_lang", "text_quality"}


def test_import_then_reimport_reports_zero_new(paperbot, tmp_path):
    db = tmp_path / "p.db"
    first = paperbot("import", str(EXAMPLE_LIST), db=db)
    assert first.returncode == 0, first.stderr
    assert " new," in first.stdout and not first.stdout.startswith(f"{EXAMPLE_LIST}: 0 new")
    second = paperbot("import", str(EXAMPLE_LIST), db=db)
    assert second.returncode == 0, second.stderr
    assert f"{EXAMPLE_LIST}: 0 new, 0 updated" in second.stdout


def test_json_output_has_the_promised_keys(paperbot, tmp_path):
    db = tmp_path / "p.db"
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0

    latest = paperbot("latest", "--json", "--count", "3", db=db)
    papers = json.loads(latest.stdout)
    assert len(papers) == 3 and all(LIST_KEYS <= set(p) for p in papers)
    assert all("v" not in p["arxiv_id"] and isinstance(p["version"], int) for p in papers)

    found = json.loads(paperbot("search", "driving", "--json", db=db).stdout)
    assert any(p["arxiv_id"] == "2505.20665" for p in found)

    shown = json.loads(paperbot("show", "arXiv:2505.20665v1", "--json", db=db).stdout)
    assert SHOW_KEYS <= set(shown)
    assert shown["arxiv_id"] == "2505.20665" and shown["url"] == "https://arxiv.org/abs/2505.20665"
    assert set(shown["notes"]) == {"headline", "motivation", "method", "results", "takeaways"}
    assert shown["text_quality"] in {"clean", "repaired", "damaged"}

    topics = json.loads(paperbot("topics", "--json", db=db).stdout)
    assert topics and topics[0]["paper_count"] >= 10


def test_user_errors_exit_2_with_a_message(paperbot, tmp_path):
    db = tmp_path / "p.db"
    missing = paperbot("show", "2101.00001", db=db)
    assert missing.returncode == 2 and "not in the store" in missing.stdout
    missing_json = paperbot("show", "2101.00001", "--json", db=db)
    assert missing_json.returncode == 2 and "not in the store" in missing_json.stderr
    bad_count = paperbot("latest", "--count", "99", db=db)
    assert bad_count.returncode == 2 and "count must be between 1 and 25" in bad_count.stdout
    empty = paperbot("search", " ", db=db)
    assert empty.returncode == 2 and "Search needs some words" in empty.stdout


def test_bad_file_exits_2_names_the_file_and_changes_nothing(paperbot, tmp_path):
    db = tmp_path / "p.db"
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0
    before = paperbot("topics", "--json", db=db).stdout
    binary = tmp_path / "photo.md"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = paperbot("import", str(binary), db=db)
    assert result.returncode == 2
    assert "photo.md" in result.stderr
    assert paperbot("topics", "--json", db=db).stdout == before


def test_missing_explicit_config_exits_2(paperbot, tmp_path):
    result = paperbot("--config", str(tmp_path / "nope.toml"), "topics", db=tmp_path / "p.db")
    assert result.returncode == 2 and "nope.toml: file not found" in result.stderr


def test_bad_config_exits_2_naming_file_and_key(paperbot, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("tldr_lang = 'en'\ncolour = 'blue'\n")
    result = paperbot("topics", db=tmp_path / "p.db", env={"PAPERBOT_CONFIG": str(config)})
    assert result.returncode == 2
    assert f"{config}: colour: unknown key" in result.stderr


@pytest.mark.slow
@pytest.mark.subprocess
def test_run_seeds_an_empty_store_answers_and_stops_at_end_of_input(tmp_path):
    db = tmp_path / "paperbot.db"
    commands = "/paper latest\n/paper search driving\n/paper show 2505.20665\n/paper topics\n/paper help\n"
    result = run_paperbot("run", db=db, input_text=commands)
    assert result.returncode == 0, result.stderr
    assert "DriveRX" in result.stdout
    assert "paperbot commands" in result.stdout
    assert "imported the example paper list" in result.stderr
    assert "stopped cleanly" in result.stderr
    again = run_paperbot("run", db=db, input_text="/paper topics\n")
    assert "imported the example paper list" not in again.stderr


@pytest.mark.slow
@pytest.mark.subprocess
def test_run_stops_cleanly_on_sigterm(tmp_path):
    env_db = tmp_path / "p.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(env_db), "--config", str(OFFLINE_CONFIG), "run"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while not env_db.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "stopped cleanly" in err


@pytest.mark.subprocess
def test_python_dash_m_bot_and_the_console_script_agree(tmp_path):
    module_help = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, cwd=ROOT)
    script = ROOT / ".venv" / "bin" / "paperbot"
    assert module_help.returncode == 0 and "usage: paperbot" in module_help.stdout
    if script.exists():
        script_help = subprocess.run([str(script), "--help"], capture_output=True, text=True, cwd=ROOT)
        assert script_help.stdout == module_help.stdout


# --- arguments: the same grammar as chat, global options anywhere -------------------------


def test_version_and_global_options_after_the_command(paperbot, tmp_path):
    version = paperbot("--version", db=tmp_path / "p.db")
    assert version.returncode == 0 and version.stdout.startswith("paperbot ")
    db = tmp_path / "after.db"
    assert paperbot("import", str(EXAMPLE_LIST), "--db", str(db), db=tmp_path / "unused.db").returncode == 0
    assert db.exists() and not (tmp_path / "unused.db").exists()
    latest = paperbot(
        "latest", "--db", str(db), "-v", "--config", str(OFFLINE_CONFIG), "-n", "2", "--json", db=tmp_path / "unused.db"
    )
    assert latest.returncode == 0, latest.stderr
    assert len(json.loads(latest.stdout)) == 2
    assert not (tmp_path / "unused.db").exists()
    after = build_parser().parse_args(["topics", "-v", "--db", "a.db"])
    before = build_parser().parse_args(["--db", "b.db", "--config", "c.toml", "topics"])
    assert (after.verbose, after.db, after.config) == (True, "a.db", None)
    assert (before.verbose, before.db, before.config) == (False, "b.db", "c.toml")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--db", "x.db", "latest", "-n", "2", "--json"], "latest"),
        (["--conf", "c.toml", "-v", "topics", "--db", "y.db"], "topics"),  # an abbreviated option, as argparse takes it
        (["--db=x.db", "fetch", "--since", "2025-06-01"], "fetch"),
        (["--config", "latest", "export", "--topic", "t", "--format", "BIB"], "export"),  # an option's value is no command
        (["ask", "2505.20665", "which", "datasets?"], "ask"),
        (["search", "reward", "model", "--topic", "t"], "search"),
        (["lates"], None),  # a typo: the whole parser says what the commands are
        (["--help"], None),
        (["-h", "latest"], None),  # the whole parser's help, listing every command
        (["latest", "--he"], None),
        (["--", "latest"], None),  # argparse reads `--` before the command as the command
        (["--db"], None),
    ],
)
def test_main_builds_only_the_named_subcommand_and_reads_it_as_the_whole_parser_does(argv, named):
    assert named_command(argv) == named
    if named is not None:
        assert build_parser(only=named).parse_args(argv) == build_parser().parse_args(argv)


# Words of command lines, right and wrong: global options before and after the command, abbreviations,
# a `--`, --help and --version, values that look like commands, and a typo.
WORDS = (
    "--db", "x.db", "--db=x.db", "--d", "--config", "c.toml", "--conf", "-v", "-vn", "--v", "--ver", "--version",
    "-h", "--help", "--", "latest", "lates", "search", "show", "topics", "similar", "saved", "export", "import", "ask",
    "fetch", "status", "backup", "migrate", "run", "notes", "-n", "2", "--count=3", "--json", "--topic", "t",
    "--format", "bib", "--since", "2025-06-01", "--limit", "0", "--to", "-o", "a",
)  # fmt: skip


def parsed(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[object, ...]:
    """What argparse makes of argv: the namespace, or the exit status and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            return (vars(parser.parse_args(argv)),)
        except SystemExit as exit_:
            return exit_.code, out.getvalue(), err.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=8))
def test_any_command_line_reads_the_same_with_only_the_named_subcommand_built(argv):
    assert parsed(build_parser(only=named_command(argv)), argv) == parsed(build_parser(), argv)


def test_trailing_topic_and_count_are_read_as_in_chat(paperbot, tmp_path):
    db = tmp_path / "p.db"
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0
    found = json.loads(paperbot("search", "driving", "reward-model-vlm", "2", "--json", db=db).stdout)
    assert len(found) == 2 and all("reward-model-vlm" in paper["topics"] for paper in found)
    latest = json.loads(paperbot("latest", "3", "reward-model-vlm", "--json", db=db).stdout)
    assert len(latest) == 3
    text = paperbot("search", "driving", "reward-model-vlm", "1", db=db)
    assert text.returncode == 0 and "Search results for “driving” in reward-model-vlm" in text.stdout


def test_a_topic_given_twice_is_a_usage_error(paperbot, tmp_path):
    db = tmp_path / "p.db"
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0
    result = paperbot("latest", "reward-model-vlm", "--topic", "other", db=db)
    assert result.returncode == 2
    assert "latest takes at most a topic and a count" in result.stdout
    assert "Usage: paperbot latest [topic] [count]" in result.stdout


def test_hints_name_the_command_line_not_chat(paperbot, tmp_path):
    db = tmp_path / "p.db"
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0
    missing = paperbot("show", "9999.99999", db=db)
    assert missing.returncode == 2
    assert "paperbot search <words> or paperbot latest" in missing.stdout and "/paper" not in missing.stdout
    unknown = paperbot("latest", "--topic", "nope", "--json", db=db)
    assert unknown.returncode == 2 and "See paperbot topics." in unknown.stderr and "/paper" not in unknown.stderr


def test_show_says_when_the_asked_version_is_not_stored(paperbot, tmp_path):
    db = tmp_path / "p.db"
    assert paperbot("import", str(EXAMPLE_LIST), db=db).returncode == 0
    text = paperbot("show", "2505.20665v7", db=db)
    assert text.returncode == 0 and "DriveRX" in text.stdout
    assert "v7 of 2505.20665 is not stored; this is v1, the version the store has." in text.stdout
    as_json = paperbot("show", "2505.20665v7", "--json", db=db)
    assert json.loads(as_json.stdout)["version"] == 1 and "v7 of 2505.20665 is not stored" in as_json.stderr
    same = paperbot("show", "2505.20665v1", db=db)
    assert "is not stored" not in same.stdout


@pytest.mark.subprocess
def test_make_clean_keeps_the_data_directory():
    clean = subprocess.run(["make", "-n", "clean"], capture_output=True, text=True, cwd=ROOT)
    assert clean.returncode == 0 and "rm " in clean.stdout
    assert "data" not in clean.stdout.replace("\\", " ").split()
    wipe = subprocess.run(["make", "-n", "clean-data"], capture_output=True, text=True, cwd=ROOT)
    assert wipe.returncode == 0 and "data" in wipe.stdout.split()
