"""`/paper export` in chat: the file uploaded through each platform's own protocol, against the fakes.

Slack: slack_sdk's files_upload_v2 (files.getUploadURLExternal, the upload to
the URL it hands out, files.completeUploadExternal) shares the file in the
channel; the requester is told privately. Discord: the file is an attachment
of the answer (a multipart interaction callback). The console prints it.
"""

from __future__ import annotations

import io

from bot.export import export_file, papers_of_topic
from bot.ingest.bibtex import parse_bibtex
from bot.ingest.paperlist import parse_paperlist
from bot.models import ChannelRef, ErrorReply, FileReply
from tests.support import console_bot
from tests.support.discord_harness import discord_bot
from tests.support.fake_discord import CHANNEL_MESSAGE, MEMBER_ID
from tests.support.slack_harness import CHANNEL, running_slack_bot

TOPIC = "reward-model-vlm"  # the topic of the bundled example list


async def test_slack_shares_the_file_in_the_channel_through_files_upload_v2(tmp_path, fake_slack):
    async with running_slack_bot(tmp_path, fake_slack) as slack:
        answers = await slack.command(f"export {TOPIC} bib")
        expected = export_file(await papers_of_topic(slack.bot.store.papers, TOPIC), "bib")

    assert [call.method for call in fake_slack.calls if "files" in call.method or call.method == "upload"] == [
        "files.getUploadURLExternal", "upload", "files.completeUploadExternal",
    ]  # fmt: skip
    assert fake_slack.calls_to("files.getUploadURLExternal")[0].args["length"] == str(len(expected.content))
    [(name, content)] = fake_slack.uploaded(CHANNEL)
    assert (name, content) == (f"{TOPIC}.bib", expected.content)
    assert len(parse_bibtex(content, name).entries) == 12
    [message] = fake_slack.posted(CHANNEL)
    assert message["text"] == f"12 papers of topic {TOPIC} as BibTeX."
    [answer] = answers
    assert answer["response_type"] == "ephemeral" and answer["text"] == f"Shared {TOPIC}.bib."


async def test_slack_says_what_to_do_when_the_upload_is_refused(tmp_path, fake_slack):
    fake_slack.channel_error(CHANNEL, "not_in_channel")
    async with running_slack_bot(tmp_path, fake_slack) as slack:
        answers = await slack.command(f"export {TOPIC}")
        unknown = await slack.command("export robots")
        saved = await slack.command("export saved")
        csv = await slack.command(f"export {TOPIC} csv")
    assert fake_slack.uploaded(CHANNEL) == []
    assert "not a member of channel C0PAPERS (not_in_channel); invite it with /invite @paperbot" in answers[0]["text"]
    assert "Unknown topic 'robots'" in unknown[0]["text"]
    assert "no saved reading list for this channel" in saved[0]["text"]
    assert "In chat, export as md or bib" in csv[0]["text"]


async def test_discord_attaches_the_file_to_a_public_answer(tmp_path, fake_discord):
    async with discord_bot(tmp_path / "p.db", fake_discord) as bot:
        record = await fake_discord.slash("export", {"source": TOPIC, "format": "md"}, user=MEMBER_ID)
        await fake_discord.until(lambda: record.answered())
        expected = export_file(await papers_of_topic(bot.store.papers, TOPIC), "md")
        missing = await fake_discord.slash("export", {"source": "robots"}, user=MEMBER_ID)
        await fake_discord.until(lambda: missing.answered())

    [callback] = record.callbacks
    assert callback["type"] == CHANNEL_MESSAGE and not callback["data"].get("flags")  # the channel sees it
    [attachment] = record.original["attachments"]
    assert attachment["filename"] == f"{TOPIC}.md" and attachment["size"] == len(expected.content)
    assert fake_discord.attachments[attachment["id"]] == expected.content
    assert len(parse_paperlist(expected.content, f"{TOPIC}.md").papers) == 12
    assert f"12 papers of topic {TOPIC} as paper-list markdown." in record.texts()
    assert missing.original["attachments"] == [] and missing.original["flags"]  # an error is for the requester only
    assert "Unknown topic 'robots'" in missing.texts()


async def test_the_console_prints_the_file_after_saying_what_it_is(tmp_path):
    async with console_bot(tmp_path / "p.db") as console:
        reply = await console.say(f"/paper export {TOPIC} bib")
        printed = console.stdout.getvalue() if isinstance(console.stdout, io.StringIO) else ""
        failed = await console.handle_line("/paper export")
    assert isinstance(reply, FileReply) and reply.filename == f"{TOPIC}.bib"
    assert printed.startswith(f"12 papers of topic {TOPIC} as BibTeX.\n\n@misc{{")
    assert isinstance(failed, ErrorReply) and failed.message.startswith("Export what?")


async def test_export_in_a_channel_without_saved_lists_is_refused_plainly(tmp_path):
    async with console_bot(tmp_path / "p.db") as console:
        reply = await console.router.handle_text("/paper export saved bib", channel=ChannelRef("console", "main"))
    assert isinstance(reply, ErrorReply)
    assert reply.message == "There is no saved reading list for this channel: nothing has been saved there."
