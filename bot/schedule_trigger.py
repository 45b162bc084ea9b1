"""APScheduler's view of a `Schedule`, apart from `bot.schedule` so that parsing a `when`
(every config load, every lookup) does not import APScheduler; only a run's scheduler needs this."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.triggers.base import BaseTrigger

if TYPE_CHECKING:  # `bot.schedule` imports this module when asked for a trigger; this one only names its type
    from bot.schedule import Schedule


class ScheduleTrigger(BaseTrigger):
    """APScheduler's view of a Schedule, so jobs fire exactly at `Schedule.next_fire` times."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        # After a previous fire: the one after it, even if that is already past (the scheduler
        # collects missed runs itself), and always strictly later, so its catch-up loop ends.
        # Otherwise: the first at or after now (fire times are whole seconds).
        if previous_fire_time is not None:
            return self.schedule.next_fire(previous_fire_time)
        return self.schedule.next_fire(now - timedelta(microseconds=1))

    def __str__(self) -> str:
        return f"schedule[{self.schedule.describe()}]"

    def __repr__(self) -> str:
        return f"<ScheduleTrigger {self.schedule.describe()!r}>"
