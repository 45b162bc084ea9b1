"""Digest posts to Discord webhooks: the `discord-webhook` poster behind `bot.webhooks`.

Messages are rendered by the same renderer the Discord adapter uses; posting
and retrying are `adapters.webhook_http`'s. `wait=true` makes Discord answer
with the created message, so its id is recorded. Which URLs are Discord's is
said by its plugin (`adapters.discord.plugin.is_discord_webhook`).
"""

from __future__ import annotations

from adapters.discord.render import render_messages
from adapters.webhook_http import RenderedWebhook, WebhookHttp
from bot.plugins import AdapterContext


def discord_webhook(http: WebhookHttp) -> RenderedWebhook:
    return RenderedWebhook("discord-webhook", render_messages, http, params={"wait": "true"})


def build(context: AdapterContext) -> RenderedWebhook:
    """The `discord-webhook` plugin's factory."""
    return discord_webhook(WebhookHttp(sleep=context.sleep))
