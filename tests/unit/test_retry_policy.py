"""The one retry policy and the one Retry-After reader (`bot.retry`) that every remote client uses."""

from datetime import datetime, timezone

import pytest

from bot.retry import RetryPolicy, parse_retry_after, retry_after_seconds

NOW = datetime(2025, 6, 8, 12, tzinfo=timezone.utc)


def test_backoff_doubles_up_to_its_cap():
    policy = RetryPolicy(attempts=8, first_backoff=5.0, max_backoff=60.0)
    assert [policy.backoff(n) for n in range(1, 7)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]


def test_jitter_only_ever_adds_up_to_its_fraction():
    policy = RetryPolicy(first_backoff=10.0, max_backoff=10.0, jitter=0.1)
    waits = [policy.backoff(3) for _ in range(200)]
    assert all(10.0 <= wait <= 11.0 for wait in waits) and len(set(waits)) > 1


def test_attempts_count_the_first_request():
    policy = RetryPolicy(attempts=3)
    assert [policy.may_retry(n) for n in (1, 2, 3)] == [True, True, False]
    assert not RetryPolicy(attempts=1).may_retry(1)


def test_a_server_asking_for_a_wait_gets_at_least_that_and_never_less_than_the_backoff():
    policy = RetryPolicy(first_backoff=1.0, max_backoff=30.0, max_retry_after=300.0)
    assert policy.wait(1, 7.0) == 7.0
    assert policy.wait(3, 0.5) == 4.0
    assert policy.wait(2) == 2.0


def test_a_wait_longer_than_the_cap_means_give_up_now():
    policy = RetryPolicy(max_retry_after=60.0)
    assert policy.too_long(60.5) and not policy.too_long(60.0) and not policy.too_long(None)


def test_retry_after_as_seconds_or_http_date():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Sun, 08 Jun 2025 12:00:30 GMT", NOW) == 30
    assert parse_retry_after("Sun, 08 Jun 2025 11:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None
    assert parse_retry_after("-5", NOW) is None


def test_retry_after_from_headers_and_discord_bodies():
    assert retry_after_seconds({"Retry-After": "7"}, NOW) == 7.0
    assert retry_after_seconds({}, NOW, {"retry_after": 0.25, "global": False}) == 0.25
    assert retry_after_seconds({"Retry-After": "soon"}, NOW) is None
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, NOW) == 0.0  # a past date: no wait
    assert retry_after_seconds({}, NOW) is None


def test_retry_after_reads_seconds_milliseconds_and_dates():
    now = datetime(2025, 6, 9, 8, 30, tzinfo=timezone.utc)
    assert retry_after_seconds({"retry-after": "7"}, now) == 7.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "7"}, now) == 1.5
    assert retry_after_seconds({"retry-after": "Mon, 09 Jun 2025 08:31:00 GMT"}, now) == 60.0
    assert retry_after_seconds({"retry-after": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


@pytest.mark.parametrize("headers", [{"Retry-After": "3"}, {"retry-after": "3"}, {"RETRY-AFTER": "3"}])
def test_header_names_are_matched_whatever_their_case(headers):
    assert retry_after_seconds(headers, NOW) == 3.0


def test_a_discord_body_wins_over_the_header_and_nonsense_in_it_is_ignored():
    assert retry_after_seconds({"Retry-After": "1"}, NOW, {"retry_after": 0.4}) == 0.4
    assert retry_after_seconds({"Retry-After": "1"}, NOW, {"retry_after": "soon"}) == 1.0
    assert retry_after_seconds({"retry-after-ms": "-5", "Retry-After": "2"}, NOW) == 2.0
