"""The `slack` and `slack-webhook` entry points (pyproject.toml): declarations only, no Slack SDK.

The Slack adapter runs when SLACK_BOT_TOKEN is set; its SDK (slack-bolt,
slack-sdk, aiohttp) comes with `pip install 'paperbot[slack]'`, and a token
set without it is a config error naming that command (`bot.plugins`). The
webhook poster claims no URL shape: it takes every URL no other platform's
poster claims (a proxy in front of hooks.slack.com has no shape to know).
"""

from __future__ import annotations

from bot.plugins import AdapterPlugin

chat = AdapterPlugin("adapters.slack.app:build", role="chat", token="SLACK_BOT_TOKEN", extra="slack")
webhook = AdapterPlugin("adapters.slack.webhook:build", role="webhook", extra="slack")
