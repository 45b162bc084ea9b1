"""Log lines: secrets never in them, UTC times, one line for an expected network failure, to stderr or a file."""

import asyncio
import io
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.app import Runtime, run_bot
from bot.config import parse_config
from bot.logs import RedactSecrets, UtcFormatter, one_line_errors, secret_values
from tests.support import OFFLINE_CONFIG, ROOT

UTC_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def test_secret_values_are_picked_by_variable_name():
    env = {
        "SLACK_BOT_TOKEN": "xoxb-123456-secret",
        "PATH": "/usr/bin:/bin",
        "SHORT_TOKEN": "abc",
        "SLACK_SIGNING_SECRET": "s3cr3t-value",
    }
    assert set(secret_values(env)) == {"xoxb-123456-secret", "s3cr3t-value"}


def test_filter_redacts_messages_arguments_and_tracebacks(caplog):
    logger = logging.getLogger("test.redact")
    handler_filter = RedactSecrets(["xoxb-123456-secret"])
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("posting with %s to https://hooks.example/xoxb-123456-secret", "token=xoxb-123456-secret")
        try:
            raise RuntimeError("bad token xoxb-123456-secret")
        except RuntimeError:
            logger.exception("failed")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert "xoxb-123456-secret" not in caplog.text
    assert "***" in caplog.text


def test_webhook_urls_and_slack_tokens_are_redacted_by_shape():
    redact = RedactSecrets([]).redact
    line = redact(
        "POST https://discord.com/api/webhooks/123456/AbC-dEf_123.x and https://hooks.slack.com/services/T01ABC/B02DEF/zYx987 "
        "with xoxb-1-2-abc and xapp-1-A0-xyz"
    )
    for secret in ("AbC-dEf_123.x", "zYx987", "xoxb-1-2-abc", "xapp-1-A0-xyz"):
        assert secret not in line
    assert "/api/webhooks/123456/***" in line and "/services/T01ABC/B02DEF/***" in line
    assert redact("papers on reward models") == "papers on reward models"


def test_webhook_variables_are_secret_by_name():
    assert secret_values({"DIGEST_HOOK": "https://example.invalid/hook/abcdef"}) == ["https://example.invalid/hook/abcdef"]


def test_slack_token_shapes_are_redacted_even_when_not_in_the_environment(caplog):
    logger = logging.getLogger("test.redact.slack")
    handler_filter = RedactSecrets([])
    caplog.handler.addFilter(handler_filter)
    try:
        logger.warning("bot xoxb-1234-5678-abcdefABCDEF app xapp-1-A0123-456-abcdef user xoxp-99-88-77aa")
    finally:
        caplog.handler.removeFilter(handler_filter)
    assert "xoxb-1234" not in caplog.text and "xapp-1-A0123" not in caplog.text and "xoxp-99" not in caplog.text
    assert caplog.text.count("***") == 3


def test_discord_interaction_tokens_and_slack_response_urls_are_redacted_in_urls_and_dumped_payloads():
    redact = RedactSecrets([]).redact
    lines = {
        "POST https://discord.com/api/v10/interactions/1354214732164235476/aW50ZXJhY3Rpb246MTM1NDIx/callback": "/interactions/1354214732164235476/***/callback",  # noqa: E501 - a whole log line
        "Event: {'op': 0, 't': 'INTERACTION_CREATE', 'd': {'id': '1', 'token': 'aW50ZXJhY3Rpb246', 'version': 1}}": "'token': '***'",  # noqa: E501 - a whole log line
        'body: {"response_url": "https://hooks.slack.com/commands/T0001/1234567890/AbCdEf123", "text": "hi"}': '"response_url": "***"',  # noqa: E501 - a whole log line
        "url: https://hooks.slack.com/commands/T0001/1234567890/AbCdEf123, body: {}": "/commands/T0001/1234567890/***,",
        "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F2%2F3": "token=***&team_id=T0001&response_url=***",  # noqa: E501 - a whole log line
    }
    for line, kept in lines.items():
        assert kept in redact(line), line
    for secret in ("aW50ZXJhY3Rpb246", "AbCdEf123", "gIkuvaNzQIHg97ATvDxqgjtO", "%2F3"):
        assert all(secret not in redact(line) for line in lines)
    assert (
        redact("the token was rejected (401 Unauthorized); see response_url docs")
        == "the token was rejected (401 Unauthorized); see response_url docs"
    )


def test_log_times_are_utc_with_the_zone_shown(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # UTC+05:30: local time would show 05:30
    time.tzset()
    try:
        record = logging.LogRecord("paperbot", logging.INFO, __file__, 1, "started", None, None)
        record.created, record.msecs = 0.25, 250.0
        assert UtcFormatter().format(record) == "1970-01-01T00:00:00.250Z INFO paperbot: started"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_one_line_errors_flattens_expected_network_failures_only(caplog):
    logger = logging.getLogger("test.one_line")
    one_line_errors("test.one_line", (ConnectionRefusedError,))
    for error in (ConnectionRefusedError(111, "Connection refused"), KeyError("session_id")):
        try:
            raise error
        except Exception:
            logger.exception("Failed to connect; retrying")
    network, bug = caplog.records
    assert network.getMessage() == "Failed to connect; retrying [ConnectionRefusedError: [Errno 111] Connection refused]"
    assert network.exc_info is None and network.levelno == logging.WARNING
    assert bug.exc_info is not None and bug.levelno == logging.ERROR  # a bug keeps its traceback


def run_until_started(db: Path) -> tuple[int, str, str]:
    """`paperbot run` with its input held open until start-up is over (input ending earlier stops it
    before it says it runs), then one command and the end of input; (status, stdout, stderr)."""
    env = {**os.environ, "PAPERBOT_DB": str(db), "PAPERBOT_CONFIG": str(OFFLINE_CONFIG)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    log: list[str] = []
    while not any("paperbot running with" in line for line in log):
        line = process.stderr.readline()
        assert line, "paperbot run ended before it said it runs:\n" + "".join(log)
        log.append(line)
    stdout, rest = process.communicate("/paper topics\n", timeout=60)
    return process.returncode, stdout, "".join(log) + rest


@pytest.mark.subprocess
def test_a_run_logs_utc_lines_names_only_working_adapters_and_keeps_library_chatter_out(tmp_path):
    status, stdout, stderr = run_until_started(tmp_path / "p.db")
    assert status == 0 and "Topics (1)" in stdout, stderr
    lines = stderr.splitlines()
    assert lines and all(UTC_LINE.match(line) for line in lines), lines
    assert any("paperbot running with console; store" in line for line in lines)
    assert "webhook" not in stderr  # no webhook subscription: nothing to mention
    assert "schema migrated" not in stderr and "apscheduler" not in stderr


def test_logs_go_to_the_file_named_by_paperbot_log_file(paperbot, tmp_path):
    log_file = tmp_path / "logs" / "paperbot.log"
    log_file.parent.mkdir()
    result = paperbot("run", db=tmp_path / "p.db", input_text="/paper topics\n", env={"PAPERBOT_LOG_FILE": str(log_file)})
    assert result.returncode == 0 and result.stderr == "" and "Topics (1)" in result.stdout
    written = log_file.read_text(encoding="utf-8")
    assert "stopped cleanly" in written and all(UTC_LINE.match(line) for line in written.splitlines())


def test_an_unwritable_log_file_from_the_config_is_a_clear_error(paperbot, tmp_path):
    config = tmp_path / "paperbot.toml"
    config.write_text(OFFLINE_CONFIG.read_text(encoding="utf-8") + f'\n[logging]\nfile = "{tmp_path}"\n', encoding="utf-8")
    result = paperbot("--config", str(config), "topics", db=tmp_path / "p.db")
    assert result.returncode == 2
    assert f"cannot write the log file {tmp_path}" in result.stderr and f"[logging] file in {config}" in result.stderr
    assert not (tmp_path / "p.db").exists()


async def test_the_start_line_names_the_webhook_adapter_when_a_subscription_uses_it(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="paperbot")
    config = parse_config(
        OFFLINE_CONFIG.read_text(encoding="utf-8")
        + '\n[[subscriptions]]\nadapter = "webhook"\nchannel = "papers"\n'
        + 'topic = "reward-model-vlm"\nwebhook_env = "DIGEST_HOOK"\n',
        "test config",
    )
    runtime = Runtime(db_path=str(tmp_path / "p.db"), config=config, env={"DIGEST_HOOK": "http://127.0.0.1:9/hook"})
    read_end, write_end = os.pipe()
    with open(read_end, encoding="utf-8") as console_input:
        running = asyncio.create_task(run_bot(runtime, stdin=console_input, stdout=io.StringIO()))
        deadline = time.monotonic() + 60
        while "paperbot running with" not in caplog.text:
            assert time.monotonic() < deadline and not running.done(), caplog.text
            await asyncio.sleep(0.02)
        os.close(write_end)  # the console's input ends: the bot stops
        assert await asyncio.wait_for(running, 60) == 0
    assert "paperbot running with webhook, console; store" in caplog.text
