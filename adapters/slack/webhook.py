"""Digest posts to Slack incoming webhooks: the `slack-webhook` poster behind `bot.webhooks`.

Messages are rendered by the same renderer the Slack adapter uses; the HTTP
and its retries are `adapters.webhook_http`'s. A Slack incoming webhook
answers `ok`, not a message, so the recorded ids are stand-ins:
`slack-webhook:<period>:<part>`. Its plugin claims no URL shape: any URL no
other platform claims is taken for a Slack one (so a proxy in front of
hooks.slack.com works).
"""

from __future__ import annotations

from adapters.slack.render import render_messages
from adapters.webhook_http import WebhookHttp
from bot.models import DigestReply, digest_mark
from bot.plugins import AdapterContext


class SlackWebhook:
    def __init__(self, http: WebhookHttp) -> None:
        self.http = http

    async def post_digest(self, url: str, reply: DigestReply, label: str) -> list[str]:
        period = digest_mark(reply).key.period
        ids = []
        for part, message in enumerate(render_messages(reply)):
            await self.http.post(url, message, label)
            ids.append(f"slack-webhook:{period}:{part}")
        return ids

    async def close(self) -> None:
        await self.http.close()


def build(context: AdapterContext) -> SlackWebhook:
    """The `slack-webhook` plugin's factory."""
    return SlackWebhook(WebhookHttp(sleep=context.sleep))
