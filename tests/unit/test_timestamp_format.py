"""The one timestamp format (`bot.utc`): written in UTC with `Z`, read back whatever the offset."""

import logging
from datetime import datetime, timedelta, timezone

import pytest

from bot.logs import UtcFormatter
from bot.utc import iso, iso_millis, parse_iso, parse_iso_or_none, shown

BERLIN_SUMMER = timezone(timedelta(hours=2))


def test_written_in_utc_to_the_second_with_z():
    assert iso(datetime(2025, 6, 8, 11, 30, 5, 999_999, tzinfo=BERLIN_SUMMER)) == "2025-06-08T09:30:05Z"


@pytest.mark.parametrize("text", ["2025-06-08T09:30:05Z", "2025-06-08T11:30:05+02:00", " 2025-06-08T09:30:05 "])
def test_read_back_as_the_same_aware_utc_instant(text):
    moment = parse_iso(text)
    assert moment == datetime(2025, 6, 8, 9, 30, 5, tzinfo=timezone.utc) and moment.utcoffset() == timedelta(0)


def test_unreadable_or_missing_is_an_error_or_none():
    with pytest.raises(ValueError):
        parse_iso("last tuesday")
    assert parse_iso_or_none("last tuesday") is None and parse_iso_or_none(None) is None and parse_iso_or_none("") is None


def test_round_trip():
    moment = datetime(2031, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    assert parse_iso(iso(moment)) == moment


def test_shown_to_people():
    assert shown(datetime(2025, 6, 8, 9, 30, tzinfo=timezone.utc)) == "2025-06-08 09:30:00 UTC"
    assert shown("2025-06-08T09:30:00Z") == "2025-06-08 09:30:00 UTC"


def test_log_lines_carry_milliseconds_in_the_same_format():
    created = datetime(2025, 6, 8, 9, 30, 5, 125_000, tzinfo=timezone.utc).timestamp()  # .125: exact in binary
    assert iso_millis(created) == "2025-06-08T09:30:05.125Z"
    record = logging.LogRecord("paperbot", logging.INFO, __file__, 1, "hello", None, None)
    record.created, record.msecs = created, 125.0
    assert UtcFormatter().format(record).startswith("2025-06-08T09:30:05.125Z INFO paperbot: hello")
