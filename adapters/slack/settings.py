"""The Slack adapter's settings, read from the environment and checked before anything connects.

Why this exists: tokens and the signing secret live only in the environment
(never in the TOML file), and a wrong one should stop `paperbot run` at once
with a message naming the variable (exit status 2 through `ConfigError`),
not fail later on the first slash command. Nothing here touches the network,
and no message here ever contains a secret's value.

- `SLACK_BOT_TOKEN` (required): the bot token, `xoxb-...`.
- `SLACK_APP_TOKEN`: an app-level token (`xapp-...`); when set, the bot
  connects over Socket Mode and needs no public URL.
- `SLACK_SIGNING_SECRET`: required in HTTP mode (no app token); every request
  to `/slack/events` is checked against it.
- `SLACK_API_URL`: the Web API base URL (tests, proxies); default Slack's.
- `PAPERBOT_HTTP_PORT` (default 3000) and `PAPERBOT_HTTP_HOST` (default
  0.0.0.0): where HTTP mode listens. Port 0 picks a free port (tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

from bot.config import ConfigError

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_HTTP_PORT = 3000
DEFAULT_HTTP_HOST = "0.0.0.0"
EVENTS_PATH = "/slack/events"
SOURCE = "environment"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    signing_secret: str
    app_token: str | None
    api_url: str
    http_host: str
    http_port: int

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "SlackSettings":
        bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
        if not bot_token:
            raise ConfigError(
                SOURCE,
                "SLACK_BOT_TOKEN",
                "not set; copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page",
            )
        if bot_token.startswith("xapp-"):
            raise ConfigError(
                SOURCE,
                "SLACK_BOT_TOKEN",
                "holds an app-level token (xapp-...); that one goes in SLACK_APP_TOKEN, the bot token starts with xoxb-",
            )
        app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
        if app_token is not None and not app_token.startswith("xapp-"):
            raise ConfigError(
                SOURCE, "SLACK_APP_TOKEN", "is not an app-level token (those start with xapp-); unset it to use HTTP mode"
            )
        signing_secret = env.get("SLACK_SIGNING_SECRET", "").strip()
        if app_token is None and not signing_secret:
            raise ConfigError(
                SOURCE, "SLACK_SIGNING_SECRET",
                "not set; HTTP mode (no SLACK_APP_TOKEN) needs it to verify requests from Slack "
                "(Basic Information > App Credentials), or set SLACK_APP_TOKEN to use Socket Mode",
            )
        return cls(
            bot_token=bot_token,
            signing_secret=signing_secret,
            app_token=app_token,
            api_url=_api_url(env.get("SLACK_API_URL", "").strip()),
            http_host=env.get("PAPERBOT_HTTP_HOST", "").strip() or DEFAULT_HTTP_HOST,
            http_port=_port(env.get("PAPERBOT_HTTP_PORT", "").strip()),
        )


def _api_url(value: str) -> str:
    if not value:
        return DEFAULT_API_URL
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(SOURCE, "SLACK_API_URL", f"not an http(s) URL: {value[:100]!r}")
    # slack_sdk joins method names onto the base URL, which must end in a slash.
    return value if value.endswith("/") else value + "/"


def _port(value: str) -> int:
    if not value:
        return DEFAULT_HTTP_PORT
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(SOURCE, "PAPERBOT_HTTP_PORT", f"not a port number: {value[:20]!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(SOURCE, "PAPERBOT_HTTP_PORT", f"must be between 0 and 65535 (got {port})")
    return port
