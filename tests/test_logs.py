"""Secrets never reach a log line, whatever logs them."""

import logging

from bot.logs import RedactSecrets, secret_values


def test_secret_values_are_picked_by_variable_name():
    env = {"SLACK_BOT_TOKEN": "xoxb-123456-secret", "PATH": "/usr/bin:/bin", "SHORT_TOKEN": "abc", "SLACK_SIGNING_SECRET": "s3cr3t-value"}
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
