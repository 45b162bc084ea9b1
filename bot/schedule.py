"""The `when` grammar of schedules: `mon 09:00`, `daily 08:30`, or five-field cron, plus a timezone.

Subscriptions and the arXiv fetch both say when they run in this grammar.
A `Schedule` knows its fire times in its own timezone, the fire before a
given time, and the *period* a fire belongs to (`2025-W23` for weekly,
`2025-06-03` for daily), which is the key that makes a digest exactly-once.

Fire times are computed here, not by APScheduler's CronTrigger in the local
zone: around a DST fall-back that trigger hands back the same repeated-hour
time again and again (a caller looping "next after the last" never ends, and
the scheduler's own catch-up loop spins with it). Instead the cron fields are
matched against *wall-clock* times (a CronTrigger in UTC, which has no DST),
and each matching wall time is mapped to the moment it first happens:

- a wall time that happens twice (the repeated hour) fires once, the first time;
- a wall time that never happens (the skipped hour) fires at the moment the
  clocks jump, so a daily digest still fires on the day of the change.

That mapping never goes backwards, which is what lets `next_fire` and
`previous_fire` bisect instead of walking fire by fire; every search is
bounded and raises `ScheduleSearchError` rather than spin.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import UserError

if TYPE_CHECKING:  # APScheduler loads only for a run's triggers and cron fields, never for a lookup's `mon 09:00`
    from apscheduler.triggers.base import BaseTrigger
    from apscheduler.triggers.cron import CronTrigger

UTC = timezone.utc
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_ALIASES = {
    **{day: day for day in WEEKDAYS},
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
    "friday": "fri", "saturday": "sat", "sunday": "sun",
}
# Standard cron numbers days from Sunday = 0 (and 7); APScheduler numbers them from Monday = 0.
_CRON_DAY_NUMBERS = {"0": "sun", "1": "mon", "2": "tue", "3": "wed", "4": "thu", "5": "fri", "6": "sat", "7": "sun"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
# IANA names are at most ~32 characters of letters, digits, `_+-`, in `/`-separated parts; anything
# else is refused before it reaches the file system (a directory like `America`, a 300-character name).
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*$")
_MAX_ZONE_NAME = 64
EXAMPLES = "e.g. 'mon 09:00', 'daily 08:30 Europe/Berlin' or '0 9 * * 1'"
# How far back to look for the previous fire, smallest first; the last covers a leap-day cron
# that also names a weekday (`0 9 29 2 mon` fires every 28 years or so).
_LOOKBACKS = (timedelta(hours=2), timedelta(days=2), timedelta(days=9), timedelta(days=32),
              timedelta(days=400), timedelta(days=3000), timedelta(days=366 * 40))
# No zone's clock has ever jumped back by this much, so a wall time this far past
# "now" on the local clock has surely not happened yet.
_MAX_CLOCK_SETBACK = timedelta(days=2)
_MINUTE = timedelta(minutes=1)
_WALL_EPOCH = datetime(1970, 1, 1)
_BISECT_STEPS = 64  # 2**64 minutes is far more than any search range here


class ScheduleSearchError(RuntimeError):
    """A fire-time search did not converge: a bug, reported instead of looping forever."""


def _bad(text: str, problem: str) -> UserError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return UserError(
        f"Bad schedule '{shown}': {problem}.", f"Use a weekday or 'daily' with a time, or five-field cron, {EXAMPLES}."
    )


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA zone; a UserError naming the problem for anything else (never an OSError)."""
    shown = name if len(name) <= 60 else name[:57] + "..."
    hint = "Use an IANA name such as UTC, Europe/Berlin or America/New_York."
    if len(name) > _MAX_ZONE_NAME or not _ZONE_NAME.match(name):
        raise UserError(f"Unknown timezone '{shown}': not an IANA zone name.", hint)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: the name is a directory of the tz database (`America`) or unreadable.
        raise UserError(f"Unknown timezone '{shown}'.", hint) from None


def _minutes(wall: datetime) -> int:
    """A naive wall time as whole minutes since 1970 (rounded down)."""
    return (wall - _WALL_EPOCH) // _MINUTE


def _wall_at(minutes: int) -> datetime:
    return _WALL_EPOCH + minutes * _MINUTE


def _last_true(low: int, high: int, holds: Callable[[int], bool]) -> int:
    """The largest n in [low, high) with holds(n), given holds(low) and not holds(high) and monotone."""
    for _ in range(_BISECT_STEPS):
        if high - low <= 1:
            return low
        middle = (low + high) // 2
        if holds(middle):
            low = middle
        else:
            high = middle
    raise ScheduleSearchError(f"bisection between minutes {low} and {high} did not converge")


@dataclass(frozen=True)
class Schedule:
    """A parsed `when`. `text` is canonical and without the timezone (`mon 09:00`);
    `cadence` is weekly, daily or cron; the other fields are APScheduler's cron fields."""

    text: str
    cadence: str
    minute: str
    hour: str
    day_of_week: str
    day: str
    month: str
    timezone: ZoneInfo

    @property
    def timezone_name(self) -> str:
        return self.timezone.key

    def describe(self) -> str:
        return f"{self.text} {self.timezone_name}"

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger that fires at exactly `next_fire`'s times."""
        from bot.schedule_trigger import ScheduleTrigger

        return ScheduleTrigger(self)

    # --- wall-clock matching ---------------------------------------------------------

    @cached_property
    def _matcher(self) -> CronTrigger:
        """The cron fields over wall-clock times: a trigger in UTC, where no hour repeats or is skipped."""
        from apscheduler.triggers.cron import CronTrigger

        return CronTrigger(
            minute=self.minute, hour=self.hour, day_of_week=self.day_of_week,
            day=self.day, month=self.month, timezone=UTC,
        )

    def _match_from(self, minutes: int) -> datetime | None:
        """The first matching wall time at or after the given minute (naive), None if there is none."""
        found = self._matcher.get_next_fire_time(None, _wall_at(minutes).replace(tzinfo=UTC))
        return found.replace(tzinfo=None) if found is not None else None

    def _wall(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone).replace(tzinfo=None)

    def _instant(self, wall: datetime) -> datetime:
        """The first moment (UTC) at which the local clock shows `wall` or later."""
        early, late = sorted(wall.replace(tzinfo=self.timezone, fold=fold).astimezone(UTC) for fold in (0, 1))
        if self._wall(early) == wall:
            return early  # an ordinary time, or the first of a repeated hour's two
        # Skipped by a jump forward: the clock reads before `wall` at `early` and after it at
        # `late`; the jump itself is the first moment at or after `wall`. Zone transitions
        # fall on whole seconds.
        low, high = math.floor(early.timestamp()), math.ceil(late.timestamp())
        for _ in range(_BISECT_STEPS):
            if high - low <= 1:
                return datetime.fromtimestamp(high, UTC)
            middle = (low + high) // 2
            if self._wall(datetime.fromtimestamp(middle, UTC)) >= wall:
                high = middle
            else:
                low = middle
        raise ScheduleSearchError(f"{self.describe()}: no moment found for the skipped wall time {wall}")

    def _fire_from(self, minutes: int) -> datetime | None:
        """The moment of the first matching wall time at or after the given minute."""
        wall = self._match_from(minutes)
        return self._instant(wall) if wall is not None else None

    # --- fire times --------------------------------------------------------------------

    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after`, None if it never fires.

        In UTC: a local time in a repeated hour never compares equal to any
        other zone's time (PEP 495), which would surprise every caller."""
        start = _minutes(self._wall(after)) + 1  # matches are whole minutes; the next one after now's wall time
        fire = self._fire_from(start)
        if fire is None or fire > after:
            return fire
        # Just after a fall-back the clock reads times it already showed an hour ago:
        # those fired then. Find the first match whose first moment is still ahead.
        def fired_already(minutes: int) -> bool:
            moment = self._fire_from(minutes)
            return moment is not None and moment <= after

        end = start + _MAX_CLOCK_SETBACK // _MINUTE
        if fired_already(end):
            raise ScheduleSearchError(f"{self.describe()}: no fire time after {after.isoformat()} found")
        return self._fire_from(_last_true(start, end, fired_already) + 1)

    def previous_fire(self, at_or_before: datetime) -> datetime | None:
        """The last fire time at or before `at_or_before` (UTC), None if there is none in 40 years."""
        def fired_by_then(minutes: int) -> bool:
            moment = self._fire_from(minutes)
            return moment is not None and moment <= at_or_before

        now_minutes = _minutes(self._wall(at_or_before))
        end = now_minutes + _MAX_CLOCK_SETBACK // _MINUTE
        if fired_by_then(end):
            raise ScheduleSearchError(
                f"{self.describe()}: a wall time two days ahead of {at_or_before.isoformat()} counts as past"
            )
        for lookback in _LOOKBACKS:
            start = now_minutes - lookback // _MINUTE
            if fired_by_then(start):
                return self._fire_from(_last_true(start, end, fired_by_then))
        return None

    def period(self, fire_time: datetime) -> str:
        """The label of the period a fire time closes: one digest per label, ever."""
        local = fire_time.astimezone(self.timezone)
        if self.cadence == "weekly":
            year, week, _ = local.isocalendar()
            return f"{year}-W{week:02d}"
        if self.cadence == "daily":
            return local.strftime("%Y-%m-%d")
        return local.strftime("%Y-%m-%dT%H:%M")


def parse_when(text: str, default_timezone: str = "UTC") -> Schedule:
    """Parse `mon 09:00 [TZ]`, `daily 08:30 [TZ]` or `m h dom mon dow [TZ]`; UserError with an example otherwise."""
    words = text.split()
    if not words:
        raise _bad(text, "it is empty")
    timezone_name = default_timezone
    if len(words) in (3, 6):  # the two valid forms have 2 and 5 words; one more is the timezone
        timezone_name = words.pop()
    zone = parse_timezone(timezone_name)

    if len(words) == 2:
        day_word, time_word = words[0].lower(), words[1]
        match = _TIME.match(time_word)
        if not match:
            raise _bad(text, f"'{time_word[:20]}' is not a time like 09:00")
        hour, minute = int(match.group(1)), int(match.group(2))
        if hour > 23 or minute > 59:
            raise _bad(text, f"'{time_word}' is not a time of day")
        if day_word == "daily":
            cadence, day_of_week = "daily", "*"
        elif day_word in _WEEKDAY_ALIASES:
            cadence, day_of_week = "weekly", _WEEKDAY_ALIASES[day_word]
        else:
            raise _bad(text, f"'{day_word[:20]}' is not a weekday or 'daily'")
        canonical = f"{'daily' if cadence == 'daily' else day_of_week} {hour:02d}:{minute:02d}"
        return Schedule(canonical, cadence, str(minute), str(hour), day_of_week, "*", "*", zone)

    if len(words) == 5:
        minute_field, hour_field, day, month, day_of_week = words
        day_of_week = ",".join(_cron_day(part) for part in day_of_week.lower().split(","))
        schedule = Schedule(" ".join(words), "cron", minute_field, hour_field, day_of_week, day, month, zone)
        try:
            fires = schedule._match_from(0) is not None
        except ValueError as error:
            raise _bad(text, str(error)) from None
        if not fires:
            raise _bad(text, "it never fires: no calendar date matches its day, month and weekday fields")
        return schedule

    raise _bad(text, "expected a day and a time, or five cron fields")


def _cron_day(part: str) -> str:
    """Translate standard cron weekday numbers (0=Sunday) into names APScheduler reads unambiguously.

    Numeric ranges are expanded into lists, because a range that wraps past
    Sunday in APScheduler's Monday-first order (`0-4`) would be invalid there.
    """
    base, _, step = part.partition("/")
    start, dash, end = base.partition("-")
    if dash and start.isdigit() and end.isdigit():
        days = range(int(start), int(end) + 1, int(step) if step.isdigit() and int(step) > 0 else 1)
        return ",".join(dict.fromkeys(_CRON_DAY_NUMBERS.get(str(day), str(day)) for day in days))
    if dash:
        base = f"{_CRON_DAY_NUMBERS.get(start, start)}-{_CRON_DAY_NUMBERS.get(end, end)}"
    else:
        base = _CRON_DAY_NUMBERS.get(base, base)
    return f"{base}/{step}" if step else base
