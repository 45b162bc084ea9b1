"""Schedules across DST: every form, both transitions, several zones, against an independent oracle.

The oracle walks real time minute by minute, reads the local clock, and fires
when a wall time matching the schedule is shown for the first time (a time the
clock jumps over counts as shown at the jump; a repeated hour shows nothing new).
`Schedule` must agree with it exactly, and every search must return: a call
that spins is stopped by `returns_within` and fails the test instead of hanging it.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import UserError
from bot.schedule import Schedule, parse_timezone, parse_when
from tests.support import returns_within

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
ZONES = ("America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "Australia/Lord_Howe")
# Weekly, daily (in, before and after the changed hours) and cron, hourly and quarter-hourly included.
WHENS = (
    "mon 09:00", "sun 02:30", "daily 01:30", "daily 02:30", "daily 02:15",
    "0 * * * *", "30 * * * *", "*/15 * * * *", "45 2 * * *", "30 1 1 11 *",
)


@functools.lru_cache(maxsize=None)
def transitions(zone: ZoneInfo, year: int) -> list[datetime]:
    """The UTC moments in `year` when the zone's offset changes (found hourly, then to the minute)."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        following = moment + timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != following.astimezone(zone).utcoffset():
            exact = moment
            while exact.astimezone(zone).utcoffset() == moment.astimezone(zone).utcoffset():
                exact += MINUTE
            found.append(exact)
        moment = following
    return found


# --- the oracle ----------------------------------------------------------------------------


def _field_matches(field: str, value: int) -> bool:
    for part in field.split(","):
        if part == "*" or (part.startswith("*/") and value % int(part[2:]) == 0) or (part.isdigit() and int(part) == value):
            return True
    return False


def wall_matches(when: str, wall: datetime) -> bool:
    """Does the schedule ask for this wall time? Written from the grammar, not from bot.schedule."""
    words = when.split()
    if len(words) == 2:
        hour, minute = map(int, words[1].split(":"))
        day_ok = words[0] == "daily" or wall.strftime("%a").lower() == words[0]
        return day_ok and (wall.hour, wall.minute) == (hour, minute)
    minute, hour, day, month, weekday = words
    assert weekday == "*"
    return all(_field_matches(f, v) for f, v in ((minute, wall.minute), (hour, wall.hour), (day, wall.day), (month, wall.month)))


def oracle_fires(when: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    fires = []
    shown = (start - MINUTE).astimezone(zone).replace(tzinfo=None)  # the latest wall time shown so far
    moment = start
    while moment <= end:
        wall = moment.astimezone(zone).replace(tzinfo=None)
        candidate = shown + MINUTE
        while candidate <= wall:  # wall times first shown now: one normally, several after a jump
            if wall_matches(when, candidate):
                fires.append(moment)
                break
            candidate += MINUTE
        shown = max(shown, wall)
        moment += MINUTE
    return fires


def schedule_fires(schedule: Schedule, start: datetime, end: datetime) -> list[datetime]:
    fires = []
    fire = schedule.next_fire(start - timedelta(microseconds=1))
    while fire is not None and fire <= end:
        fires.append(fire.astimezone(UTC))
        fire = schedule.next_fire(fire)
    return fires


# --- the cases of the defect -----------------------------------------------------------------


@pytest.mark.parametrize("when,at,expected", [
    ("daily 01:30 America/New_York", datetime(2025, 11, 2, 12, tzinfo=UTC), datetime(2025, 11, 2, 5, 30, tzinfo=UTC)),
    ("sun 02:30 Europe/Berlin", datetime(2025, 10, 26, 12, tzinfo=UTC), datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
    ("daily 02:30 Europe/Berlin", datetime(2025, 10, 26, 12, tzinfo=UTC), datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
    # The config line that hung `paperbot run` through November 2026: 2026-11-01 is New York's fall-back.
    ("30 1 1 11 * America/New_York", datetime(2026, 11, 28, 20, tzinfo=UTC), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
])
def test_the_previous_fire_in_a_repeated_hour_is_its_first_occurrence(when, at, expected):
    schedule = parse_when(when)
    with returns_within(10):
        previous = schedule.previous_fire(at)
        following = schedule.next_fire(previous)
    assert previous == expected  # the earlier of the two times the clock shows it
    assert previous < at < following


def test_the_scheduler_trigger_moves_on_after_a_repeated_hour():
    # APScheduler's own catch-up asks "the next fire after the last one" until it passes now.
    trigger = parse_when("daily 01:30 America/New_York").trigger()
    now = datetime(2025, 11, 4, tzinfo=UTC)
    fire, seen = trigger.get_next_fire_time(None, datetime(2025, 11, 1, tzinfo=UTC)), []
    with returns_within(10):
        while fire is not None and fire <= now:
            seen.append(fire.astimezone(UTC).isoformat())
            fire = trigger.get_next_fire_time(fire, now)
    assert seen == ["2025-11-01T05:30:00+00:00", "2025-11-02T05:30:00+00:00", "2025-11-03T06:30:00+00:00"]


# --- every form, both transitions, five zones ----------------------------------------------------


def _cases():
    for zone_name in ZONES:
        zone = ZoneInfo(zone_name)
        moments = transitions(zone, 2025) or [datetime(2025, 3, 30, 1, tzinfo=UTC)]  # Kolkata: no DST
        for moment in moments:
            for when in WHENS:
                yield pytest.param(zone_name, when, moment, id=f"{zone_name}-{moment:%m%d}-{when.replace(' ', '_')}")


@pytest.mark.parametrize("zone_name,when,transition", list(_cases()))
def test_fire_times_around_a_transition_match_the_oracle(zone_name, when, transition):
    zone = ZoneInfo(zone_name)
    schedule = parse_when(f"{when} {zone_name}")
    span = timedelta(days=8) if schedule.cadence == "weekly" else timedelta(hours=30)
    start, end = transition - span, transition + span
    with returns_within(20):
        fires = schedule_fires(schedule, start, end)
        for fire in fires:  # each fire is its own previous fire, and the one before is found from just before it
            assert schedule.previous_fire(fire) == fire
            assert schedule.next_fire(fire - timedelta(microseconds=1)) == fire
        for earlier, later in zip(fires, fires[1:], strict=False):
            assert schedule.previous_fire(later - timedelta(microseconds=1)) == earlier
    assert fires == oracle_fires(when, zone, start, end)
    if schedule.cadence in ("daily", "weekly"):  # one digest per local day / week, none lost or doubled
        periods = [schedule.period(fire) for fire in fires]
        assert len(periods) == len(set(periods))
        if schedule.cadence == "daily":
            assert len(periods) >= (end - start).days - 1


def test_a_daily_time_the_clock_skips_fires_at_the_jump():
    schedule = parse_when("daily 02:30 Europe/Berlin")  # 2025-03-30: 02:00 CET -> 03:00 CEST at 01:00 UTC
    fire = schedule.next_fire(datetime(2025, 3, 29, 12, tzinfo=UTC))
    assert fire.astimezone(UTC) == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
    assert schedule.period(fire) == "2025-03-30"
    assert schedule.next_fire(fire).astimezone(UTC) == datetime(2025, 3, 31, 0, 30, tzinfo=UTC)


def test_a_half_hour_change_lord_howe():
    schedule = parse_when("daily 01:45 Australia/Lord_Howe")  # 2025-04-06: 02:00 (+11) -> 01:30 (+10:30)
    fire = schedule.next_fire(datetime(2025, 4, 5, 12, tzinfo=UTC))
    assert fire == datetime(2025, 4, 5, 14, 45, tzinfo=UTC) and fire.astimezone(schedule.timezone).utcoffset() == timedelta(
        hours=11
    )
    assert schedule.next_fire(fire).astimezone(UTC) == datetime(2025, 4, 6, 15, 15, tzinfo=UTC)


# --- property: every search returns and brackets the time ---------------------------------------

PROPERTY_ZONES = ZONES + ("Europe/London", "America/Sao_Paulo", "Pacific/Apia", "Asia/Kathmandu", "UTC")
PROPERTY_WHENS = WHENS + ("daily 00:00", "0 0 29 2 *", "*/7 3 * * *", "fri 23:59", "0 9 * * 1-5")


@st.composite
def moments(draw) -> tuple[str, datetime]:
    """A zone and a moment, half of them within two days of one of that zone's transitions."""
    zone_name = draw(st.sampled_from(PROPERTY_ZONES))
    year = draw(st.integers(2005, 2035))
    near = transitions(ZoneInfo(zone_name), year)
    if near and draw(st.booleans()):
        anchor = draw(st.sampled_from(near))
        moment = anchor + timedelta(seconds=draw(st.integers(-2 * 86400, 2 * 86400)))
    else:
        moment = datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 365 * 86400)))
    return zone_name, moment + timedelta(microseconds=draw(st.sampled_from([0, 1, 999_999])))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moments(), st.sampled_from(PROPERTY_WHENS))
def test_previous_and_next_fire_bracket_any_moment(zoned, when):
    zone_name, moment = zoned
    schedule = parse_when(f"{when} {zone_name}")
    with returns_within(10):
        previous, following = schedule.previous_fire(moment), schedule.next_fire(moment)
        assert previous is not None and following is not None
        assert previous <= moment < following
        assert schedule.next_fire(previous) == following  # no fire in between
        assert schedule.previous_fire(following) == following
        assert schedule.previous_fire(following - timedelta(microseconds=1)) == previous


# --- what parsing refuses -------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6 *"])
def test_a_cron_that_never_fires_is_refused(when):
    with pytest.raises(UserError, match="never fires"):
        parse_when(when)


def test_a_leap_day_cron_is_accepted():
    assert parse_when("0 9 29 2 *").next_fire(datetime(2025, 1, 1, tzinfo=UTC)).year == 2028


@pytest.mark.parametrize("name", ["America", "Etc", "x" * 300, "Europe/../../etc/passwd", "/etc/localtime", "", "Europe/Berlin "])
def test_a_timezone_that_is_not_a_zone_is_a_clear_error(name):
    with pytest.raises(UserError, match="Unknown timezone") as caught:
        parse_timezone(name)
    assert len(str(caught.value)) < 200
