"""6-field NCRONTAB (`{second} {minute} {hour} {day} {month} {day-of-week}`), as the Functions
timer trigger reads it, and the next fire time after a given instant.

Pure: no clock, no I/O. Like NCrontab (and unlike Vixie cron), when both day and day-of-week
are restricted an instant must match both. Five-field expressions are refused, as the host does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (name, low, high, names mapped to numbers)
_FIELDS = (
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(_MONTHS)}),
    ("day-of-week", 0, 6, {name: i for i, name in enumerate(_DAYS)}),
)
_HORIZON_YEARS = 8  # long enough for Feb 29 schedules; "30 Feb" simply never fires


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class Cron:
    expression: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after `after` (same tzinfo), or None if there is none."""
        start = after.replace(microsecond=0) + timedelta(seconds=1)
        day, limit = start.date(), date(min(start.year + _HORIZON_YEARS, 9999), 1, 1)
        while day < limit:
            if self._day_matches(day):
                first = start.time() if day == start.date() else None
                found = self._first_time(first)
                if found:
                    return datetime.combine(day, found, tzinfo=after.tzinfo)
            day += timedelta(days=1)
        return None

    def _day_matches(self, day: date) -> bool:
        weekday = (day.weekday() + 1) % 7  # Python: Monday = 0; cron: Sunday = 0
        return day.month in self.months and day.day in self.days and weekday in self.weekdays

    def _first_time(self, not_before: time | None) -> time | None:
        floor = not_before or time(0, 0, 0)
        for hour in sorted(h for h in self.hours if h >= floor.hour):
            for minute in sorted(m for m in self.minutes if (hour, m) >= (floor.hour, floor.minute)):
                for second in sorted(self.seconds):
                    candidate = time(hour, minute, second)
                    if candidate >= floor:
                        return candidate
        return None


def parse(expression: str) -> Cron:
    parts = expression.split()
    if len(parts) != 6:
        raise CronError(f"'{expression}' has {len(parts)} fields; NCRONTAB needs 6 "
                        "({second} {minute} {hour} {day} {month} {day-of-week})")
    values = [_field(part, *spec, expression) for part, spec in zip(parts, _FIELDS)]
    return Cron(expression, *values)


def _field(text: str, name: str, low: int, high: int, names: dict, expression: str) -> frozenset[int]:
    result: set[int] = set()
    for item in text.split(","):
        try:
            result |= _item(item.upper(), low, high, names)
        except (ValueError, KeyError):
            raise CronError(f"'{expression}': invalid {name} field '{text}' (allowed {low}-{high})") from None
    return frozenset(result)


def _item(item: str, low: int, high: int, names: dict) -> set[int]:
    span, _, step_text = item.partition("/")
    step = int(step_text) if step_text else 1
    if step < 1:
        raise ValueError("step")
    if span == "*":
        first, last = low, high
    elif "-" in span:
        first, last = (_number(part, names) for part in span.split("-", 1))
    else:
        first = _number(span, names)
        last = high if step_text else first  # "5/10" means 5-max/10, as in NCrontab
    if not low <= first <= last <= high:
        raise ValueError("range")
    return set(range(first, last + 1, step))


def _number(text: str, names: dict) -> int:
    return names[text] if text in names else int(text)
