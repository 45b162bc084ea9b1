"""Digest posts to Discord webhooks: the `discord-webhook` poster behind `bot.webhooks`.

Messages are rendered by the same renderer the Discord adapter uses; the HTTP
and its retries are `adapters.webhook_http`'s. `wait=true` makes Discord
answer with the created message, so its id is recorded (a stand-in,
`discord-webhook:<period>:<part>`, if the answer lacks one). Which URLs are
Discord's is said by its plugin (`adapters.discord.plugin.is_discord_webhook`).
"""

from __future__ import annotations

from adapters.discord.render import render_messages
from adapters.webhook_http import WebhookHttp
from bot.models import DigestReply, digest_mark
from bot.plugins import AdapterContext


class DiscordWebhook:
    def __init__(self, http: WebhookHttp) -> None:
        self.http = http

    async def post_digest(self, url: str, reply: DigestReply, label: str) -> list[str]:
        period = digest_mark(reply).key.period
        ids = []
        for part, message in enumerate(render_messages(reply)):
            body = await self.http.post(url, message, label, params={"wait": "true"})
            ids.append(str(body["id"]) if isinstance(body, dict) and body.get("id") else f"discord-webhook:{period}:{part}")
        return ids

    async def close(self) -> None:
        await self.http.close()


def build(context: AdapterContext) -> DiscordWebhook:
    """The `discord-webhook` plugin's factory."""
    return DiscordWebhook(WebhookHttp(sleep=context.sleep))
