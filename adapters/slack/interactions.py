"""Pure converters between Slack's interaction payloads and the core's requests and answers.

Why this exists: the bolt handlers in `app.py` should only move data between
Slack and the core. Which channel a command came from, how an answer is
posted and what the "Share in channel" button carries are kept here as
small functions that tests can call without Slack (bolt-python's own
adapters are built the same way). Who sees an answer and whether it can be
shared is the command's own (`bot.commands.model`), read from the `Answer`.

Rules
-----
- A shareable answer goes to the requester only (`ephemeral`) with a "Share
  in channel" button whose value is the command text, so a press re-runs the
  same lookup and posts it to the channel. A press can only run a command
  anyone may share, as a non-admin: the value is data from a button, not an
  authority.
- A public answer (a successful subscribe/unsubscribe) goes to the channel
  (`in_channel`): everyone there should know what the channel will get.
- Errors and private answers (help) are for the requester only, without a button.
- A vote button's click (`paperbot_vote:<action>:<arxiv id>`, see `render`)
  is answered for the clicker only, with an Undo button when it changed
  something; a click from another workspace than the bot's is refused.
- Slack accepts at most five answers per response_url; a longer answer is
  cut to four messages and a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from adapters.slack.limits import MAX_BUTTON_VALUE
from adapters.slack.render import (
    UNDO_ACTION_PREFIX,
    VOTE_ACTION_PREFIX,
    ShareButton,
    escape_mrkdwn_text,
    render_messages,
    undo_block,
)
from bot.commands import Answer, Visibility
from bot.models import ChannelRef, ErrorReply, NoticeReply, Reply
from bot.votes import VoteAction, read_action

ADAPTER = "slack"
MAX_RESPONSES = 5  # Slack: a response_url takes five answers within 30 minutes
EPHEMERAL, IN_CHANNEL = "ephemeral", "in_channel"


def channel_of(channel_id: str | None) -> ChannelRef | None:
    """The core's channel for a Slack channel id.

    No workspace: a bot token belongs to one workspace, and channel ids are
    unique in it, so `[[subscriptions]] adapter = "slack" channel = "C..."`
    in the config names the same channel as a `/paper subscribe` typed there.
    """
    return ChannelRef(ADAPTER, channel_id) if channel_id else None


def share_value(text: str | None) -> str | None:
    """What the share button carries: the normalised command text, if it fits."""
    value = " ".join((text or "").split())
    return value if 0 < len(value) <= MAX_BUTTON_VALUE else None


def response_type(answer: Answer) -> str:
    return IN_CHANNEL if answer.visibility is Visibility.PUBLIC else EPHEMERAL


def command_answer(answer: Answer) -> list[dict[str, Any]]:
    """The `respond(...)` kwargs that answer a slash command, in order."""
    value = share_value(answer.share_text)
    share = ShareButton(value) if value else None
    return _responses(render_messages(answer.reply, share=share), response_type(answer))


def button_value(value: Any) -> str | None:
    """The command text a share button carries, or None if the payload holds no such text."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_BUTTON_VALUE:
        return None
    return value


def shared_answer(reply: Reply) -> list[dict[str, Any]]:
    """The channel post of a shared answer (no button: it is already shared)."""
    return _responses(render_messages(reply), IN_CHANNEL)


def refusal(message: str) -> dict[str, Any]:
    """A one-line answer for the requester only."""
    return _responses(render_messages(ErrorReply(message)), EPHEMERAL)[0]


def private_note(message: str) -> dict[str, Any]:
    """A one-line notice for the requester only (an export was shared)."""
    return _responses(render_messages(NoticeReply((message,))), EPHEMERAL)[0]


def vote_answer(reply: Reply, undo: tuple[VoteAction, str] | None) -> list[dict[str, Any]]:
    """The clicker-only answer to a vote button, ending with an Undo button when `undo` is given."""
    messages = render_messages(reply)
    if undo is not None:
        messages[-1] = {**messages[-1], "blocks": [*messages[-1]["blocks"], undo_block(*undo)]}
    return _responses(messages, EPHEMERAL)


def _responses(messages: list[dict], kind: str) -> list[dict[str, Any]]:
    if len(messages) > MAX_RESPONSES:
        dropped = len(messages) - (MAX_RESPONSES - 1)
        note = f"(The answer was too long for Slack; {dropped} more part{'s' if dropped != 1 else ''} not shown.)"
        note_block = {"type": "context", "elements": [{"type": "mrkdwn", "text": escape_mrkdwn_text(note), "verbatim": True}]}
        messages = messages[: MAX_RESPONSES - 1] + [{"text": note, "blocks": [note_block]}]
    # The first answer replaces nothing; later ones must not replace the first.
    return [{**message, "response_type": kind, "replace_original": False} for message in messages]


# --- payload readers: tolerant, since a payload is remote input --------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def command_fields(body: Mapping[str, Any]) -> tuple[str, str, str]:
    """(text, user id, channel id) of a slash-command payload."""
    return _text(body.get("text")), _text(body.get("user_id")), _text(body.get("channel_id"))


def action_fields(body: Mapping[str, Any]) -> tuple[Any, str, str]:
    """(button value, user id, channel id) of a block_actions payload."""
    actions = body.get("actions")
    action = _mapping(actions[0] if isinstance(actions, list) and actions else None)
    user, channel, container = (_mapping(body.get(key)) for key in ("user", "channel", "container"))
    channel_id = _text(channel.get("id")) or _text(container.get("channel_id"))
    return action.get("value"), _text(user.get("id")), channel_id


@dataclass(frozen=True)
class VoteClick:
    """A vote button's click (or its Undo): what, on which paper, by whom, where, from which workspace."""

    action: VoteAction
    arxiv_id: str
    undo: bool
    user: str
    channel_id: str
    team: str


def vote_click(body: Mapping[str, Any]) -> VoteClick | None:
    """The click a block_actions payload holds, or None when its action_id is no vote button's."""
    actions = body.get("actions")
    action = _mapping(actions[0] if isinstance(actions, list) and actions else None)
    prefix, _, rest = _text(action.get("action_id")).partition(":")
    name, _, arxiv_id = rest.partition(":")
    kind = read_action(name)
    if prefix not in (VOTE_ACTION_PREFIX, UNDO_ACTION_PREFIX) or kind is None or not arxiv_id:
        return None
    _, user, channel_id = action_fields(body)
    team = _text(_mapping(body.get("team")).get("id")) or _text(_mapping(body.get("user")).get("team_id"))
    return VoteClick(kind, arxiv_id, prefix == UNDO_ACTION_PREFIX, user, channel_id, team)
