"""The `discord` and `discord-webhook` entry points (pyproject.toml): declarations only, no discord.py.

The Discord adapter runs when DISCORD_TOKEN is set; discord.py comes with
`pip install 'paperbot[discord]'`, and a token set without it is a config
error naming that command (`bot.plugins`). Which webhook URLs are Discord's is
known here, without discord.py, so a Discord URL is never posted as another
platform's when the extra is missing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bot.plugins import AdapterPlugin


def is_discord_webhook(url: str) -> bool:
    """`.../api/webhooks/<id>/<token>`, also with an API version (`/api/v10/webhooks/...`)."""
    path = urlsplit(url).path
    return "/api/webhooks/" in path or ("/api/v" in path and "/webhooks/" in path)


chat = AdapterPlugin("adapters.discord.client:build", role="chat", token="DISCORD_TOKEN", extra="discord")
webhook = AdapterPlugin("adapters.discord.webhook:build", role="webhook", extra="discord", claims=is_discord_webhook)
