"""Pointing discord.py at another Discord API server (`DISCORD_API_URL`): tests and proxies.

Why this module exists: discord.py keeps its endpoints in two class
attributes, `discord.http.Route.BASE` (every REST call, interaction callbacks
and followups included) and `discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`
(the websocket). Only `AutoShardedClient` without a fixed shard count asks
`GET /gateway/bot` for the gateway URL; a plain `Client` always connects to
`DEFAULT_GATEWAY` (read in discord.py 2.7: `client.py` `connect()`,
`gateway.py` `DiscordWebSocket.from_client`, `shard.py` `launch_shards`). So
after login the adapter asks the configured server's `GET /gateway/bot` itself
and sets `DEFAULT_GATEWAY` to the answer.

Both are process-wide: one process talks to one Discord API. `restore()`
puts discord.py's defaults back (the adapter calls it on stop, so tests
that start several bots in one process do not leak endpoints).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.config import ConfigError

API_VERSION_PATH = "/api/v10"

_DEFAULT_REST = Route.BASE
_DEFAULT_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def rest_base(api_url: str) -> str:
    """`http://127.0.0.1:8080` -> `http://127.0.0.1:8080/api/v10` (an URL already ending so is kept)."""
    url = api_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            "environment", "DISCORD_API_URL", f"must be an http(s) URL like https://discord.com, got {api_url[:80]!r}"
        )
    if parts.query or parts.fragment:
        raise ConfigError("environment", "DISCORD_API_URL", "must not carry a query or fragment")
    return url if url.endswith(API_VERSION_PATH) else url + API_VERSION_PATH


def use_rest_base(base: str) -> None:
    Route.BASE = base


def use_gateway(url: str) -> None:
    """The websocket URL a `GET /gateway/bot` answered (e.g. `wss://gateway.discord.gg`)."""
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


def restore() -> None:
    Route.BASE = _DEFAULT_REST
    DiscordWebSocket.DEFAULT_GATEWAY = _DEFAULT_GATEWAY
