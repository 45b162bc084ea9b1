"""Digest posts to Slack incoming webhooks: the `slack-webhook` poster behind `bot.webhooks`.

Messages are rendered by the same renderer the Slack adapter uses; posting
and retrying are `adapters.webhook_http`'s. A Slack incoming webhook answers
`ok`, not a message, so the recorded ids are stand-ins:
`slack-webhook:<period>:<part>`.
"""

from __future__ import annotations

from adapters.slack.render import render_messages
from adapters.webhook_http import RenderedWebhook, WebhookHttp
from bot.plugins import AdapterContext


def slack_webhook(http: WebhookHttp) -> RenderedWebhook:
    return RenderedWebhook("slack-webhook", render_messages, http)


def build(context: AdapterContext) -> RenderedWebhook:
    """The `slack-webhook` plugin's factory."""
    return slack_webhook(WebhookHttp(sleep=context.sleep))
