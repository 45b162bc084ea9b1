"""One error hierarchy (`bot.errors`): what a caller catches, and what each kind says."""

import pytest

from bot import config, errors
from bot.errors import (
    ConfigError,
    DeliveryError,
    IngestError,
    PaperbotError,
    QuerySyntaxError,
    RemoteError,
    StoreError,
    UserError,
)
from bot.ingest import arxiv, arxiv_query, atom_check, paperlist, snapshot
from bot.llm_notes import PaperFailed, ServiceFailed


@pytest.mark.parametrize(
    "kind", [ConfigError, IngestError, StoreError, QuerySyntaxError, paperlist.PaperListError, snapshot.SnapshotError]
)
def test_everything_its_owner_can_fix_is_a_user_error(kind):
    assert issubclass(kind, UserError) and issubclass(kind, PaperbotError)


@pytest.mark.parametrize(
    "kind", [DeliveryError, arxiv.ArxivFetchError, arxiv.ArxivUnreachable, atom_check.FeedError, ServiceFailed, PaperFailed]
)
def test_every_remote_failure_is_a_remote_error_and_no_user_error(kind):
    assert issubclass(kind, RemoteError) and not issubclass(kind, UserError)


def test_the_old_homes_still_name_the_same_classes():
    assert config.ConfigError is errors.ConfigError
    assert arxiv_query.QuerySyntaxError is errors.QuerySyntaxError


def test_each_kind_reads_as_before():
    assert str(ConfigError("config/paperbot.toml", "fetch.retries", "must be at least 0")) == (
        "config/paperbot.toml: fetch.retries: must be at least 0"
    )
    assert str(ConfigError("environment", None, "no adapter is configured", "Set SLACK_BOT_TOKEN.")) == (
        "environment: no adapter is configured Set SLACK_BOT_TOKEN."
    )
    assert str(IngestError("papers.md", "the file is cut short", line=42, hint="Download it again.")) == (
        "papers.md:42: the file is cut short. Download it again."
    )
    assert str(UserError("Unknown topic 'x'.", "Try /paper topics.")) == "Unknown topic 'x'. Try /paper topics."
    failure = DeliveryError("webhook HOOK answered 404", permanent=True)
    assert (failure.message, failure.permanent, str(failure)) == ("webhook HOOK answered 404", True, "webhook HOOK answered 404")
    syntax = QuerySyntaxError("missing search term", 4, "abs:")
    assert isinstance(syntax, ValueError) and syntax.column == 5 and syntax.pointer() == "abs:\n    ^"
