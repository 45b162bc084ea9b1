"""A `FileReply` (an export) as a Slack file in the channel the command came from.

Why this exists: Slack has no ephemeral files, so an export is shared in the
channel through slack_sdk's `files_upload_v2` (files.getUploadURLExternal, the
upload to the URL it hands out, files.completeUploadExternal), with the
reply's first line as its comment; the requester is told privately that it
is there, or, when Slack refuses (the bot is not in the channel, the app
lacks `files:write`), what to do about it.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import explain, slack_error_code
from bot.models import FileReply

log = logging.getLogger(__name__)


async def upload_file(client: AsyncWebClient, channel_id: str, reply: FileReply) -> str | None:
    """Share the file in the channel; None when it is there, else one sentence saying why not and what to do."""
    try:
        await client.files_upload_v2(
            channel=channel_id, file=reply.content, filename=reply.filename, title=reply.filename,
            initial_comment=reply.lines[0] if reply.lines else None,
        )  # fmt: skip
    except SlackApiError as error:
        code = slack_error_code(error)
        log.warning("slack: uploading %s to %s failed (%s)", reply.filename, channel_id, code)
        return explain(code, channel_id, "files:write", action="upload")
    except SlackClientError as error:  # the upload URL refused the bytes
        log.warning("slack: uploading %s to %s failed (%s)", reply.filename, channel_id, type(error).__name__)
        return f"Slack did not take the file {reply.filename}; try again in a moment"
    log.info("slack: uploaded %s (%d bytes) to %s", reply.filename, len(reply.content), channel_id)
    return None
