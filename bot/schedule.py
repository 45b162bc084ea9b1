"""The `when` grammar of schedules: `mon 09:00`, `daily 08:30`, or five-field cron, plus a timezone.

Subscriptions and the arXiv fetch both say when they run in this grammar.
A `Schedule` knows its fire times in its own timezone (DST included, through
APScheduler's CronTrigger), the fire before a given time, and the *period* a
fire belongs to (`2025-W23` for weekly, `2025-06-03` for daily), which is the
key that makes a digest exactly-once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.errors import UserError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_ALIASES = {
    **{day: day for day in WEEKDAYS},
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
    "friday": "fri", "saturday": "sat", "sunday": "sun",
}
# Standard cron numbers days from Sunday = 0 (and 7); APScheduler numbers them from Monday = 0.
_CRON_DAY_NUMBERS = {"0": "sun", "1": "mon", "2": "tue", "3": "wed", "4": "thu", "5": "fri", "6": "sat", "7": "sun"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
EXAMPLES = "e.g. 'mon 09:00', 'daily 08:30 Europe/Berlin' or '0 9 * * 1'"
# Lookback windows for finding the previous fire time, smallest first (cheap for frequent schedules).
_LOOKBACKS = (timedelta(hours=2), timedelta(days=2), timedelta(days=9), timedelta(days=32), timedelta(days=400), timedelta(days=3000))


def _bad(text: str, problem: str) -> UserError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return UserError(f"Bad schedule '{shown}': {problem}.", f"Use a weekday or 'daily' with a time, or five-field cron, {EXAMPLES}.")


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"Unknown timezone '{name[:60]}'.", "Use an IANA name such as UTC, Europe/Berlin or America/New_York.") from None


@dataclass(frozen=True)
class Schedule:
    """A parsed `when`. `text` is canonical and without the timezone (`mon 09:00`);
    `cadence` is weekly, daily or cron; the other fields are APScheduler's."""

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

    def trigger(self) -> CronTrigger:
        return CronTrigger(
            minute=self.minute, hour=self.hour, day_of_week=self.day_of_week,
            day=self.day, month=self.month, timezone=self.timezone,
        )

    def next_fire(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after`."""
        trigger = self.trigger()
        return trigger.get_next_fire_time(None, after + timedelta(microseconds=1))

    def previous_fire(self, at_or_before: datetime) -> datetime | None:
        """The last fire time at or before `at_or_before` (None if there is none in years)."""
        trigger = self.trigger()
        for lookback in _LOOKBACKS:
            fire = trigger.get_next_fire_time(None, at_or_before - lookback)
            found = None
            while fire is not None and fire <= at_or_before:
                found = fire
                fire = trigger.get_next_fire_time(found, found + timedelta(microseconds=1))
            if found is not None:
                return found
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
        minute, hour, day, month, day_of_week = words
        day_of_week = ",".join(_cron_day(part) for part in day_of_week.lower().split(","))
        schedule = Schedule(" ".join(words), "cron", minute, hour, day_of_week, day, month, zone)
        try:
            schedule.trigger()
        except ValueError as error:
            raise _bad(text, str(error)) from None
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
