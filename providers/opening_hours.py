"""Opening hours in plain words: a week's schedule and whether a service is open now."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from opening_hours import OpeningHours, ParserError, State


@dataclass(frozen=True)
class DaySchedule:
    date: datetime.date
    day_name: str
    ranges: list[str]
    is_today: bool


def _parse(expression: str) -> OpeningHours | None:
    if not expression:
        return None
    try:
        return OpeningHours(expression)
    except (ParserError, SyntaxError):
        return None


def _local_now(now: datetime.datetime | None) -> datetime.datetime:
    # opening-hours-py works on naive local times.
    return timezone.localtime(now or timezone.now()).replace(tzinfo=None, microsecond=0)


def is_open_now(expression: str, now: datetime.datetime | None = None) -> bool | None:
    """True or False when the expression is known; None when there are no usable hours."""
    hours = _parse(expression)
    if hours is None:
        return None
    local = _local_now(now)
    if hours.is_unknown(local):
        return None
    return hours.is_open(local)


def week_schedule(expression: str, now: datetime.datetime | None = None) -> list[DaySchedule]:
    """The next seven days starting today, each with its opening times as "09:00–17:00"."""
    hours = _parse(expression)
    if hours is None:
        return []
    local = _local_now(now)
    start = datetime.datetime.combine(local.date(), datetime.time())
    end = start + datetime.timedelta(days=7)
    days: dict[datetime.date, list[str]] = {
        (start + datetime.timedelta(days=i)).date(): [] for i in range(7)
    }
    for begin, finish, state, _comment in hours.intervals(start, end):
        if state != State.OPEN:
            continue
        finish = min(finish, end) if finish else end
        cursor = begin
        while cursor < finish:
            midnight = datetime.datetime.combine(cursor.date(), datetime.time())
            day_end = midnight + datetime.timedelta(days=1)
            piece_end = min(finish, day_end)
            closing = "24:00" if piece_end == day_end else piece_end.strftime("%H:%M")
            days[cursor.date()].append(f"{cursor.strftime('%H:%M')}–{closing}")
            cursor = piece_end
    return [
        DaySchedule(
            date=day,
            day_name=formats.date_format(day, "l"),
            ranges=ranges or [_("closed")],
            is_today=day == local.date(),
        )
        for day, ranges in days.items()
    ]
