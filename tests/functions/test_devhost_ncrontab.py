"""NCRONTAB parsing and next fire times: a table of schedules -> the next three occurrences."""
from datetime import UTC, datetime

import pytest

from devhost import ncrontab
from devhost.timers import Interval, monitor_by_default, parse_schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NEXT_FIRE_TIMES = [
    # schedule,                 after,                      next three fire times
    ("* * * * * *",             "2024-01-01T00:00:00",      ["00:00:01", "00:00:02", "00:00:03"]),
    ("* * * * * *",             "2024-01-01T00:00:00.5",    ["00:00:01", "00:00:02", "00:00:03"]),
    ("*/15 * * * * *",          "2024-01-01T00:00:00",      ["00:00:15", "00:00:30", "00:00:45"]),
    ("5/20 * * * * *",          "2024-01-01T00:00:00",      ["00:00:05", "00:00:25", "00:00:45"]),
    ("0 */5 * * * *",           "2024-01-01T00:00:00",      ["00:05:00", "00:10:00", "00:15:00"]),
    ("0 0 * * * *",             "2024-01-01T23:30:00",      ["2024-01-02T00:00:00", "01:00:00", "02:00:00"]),
    ("0 30 8-10/2 * * *",       "2024-01-01T09:00:00",      ["10:30:00", "2024-01-02T08:30:00", "10:30:00"]),
    ("30 15 9 * * MON-FRI",     "2024-01-05T10:00:00",      ["2024-01-08T09:15:30", "2024-01-09T09:15:30",
                                                             "2024-01-10T09:15:30"]),
    ("0 0 0 * * 0",             "2024-01-01T00:00:00",      ["2024-01-07T00:00:00", "2024-01-14T00:00:00",
                                                             "2024-01-21T00:00:00"]),
    ("0 0 0 1 JAN,jul *",       "2024-01-01T00:00:00",      ["2024-07-01T00:00:00", "2025-01-01T00:00:00",
                                                             "2025-07-01T00:00:00"]),
    ("0 0 0 13 * FRI",          "2024-01-01T00:00:00",      ["2024-09-13T00:00:00", "2024-12-13T00:00:00",
                                                             "2025-06-13T00:00:00"]),
    ("0 0 12 29 2 *",           "2024-03-01T00:00:00",      ["2028-02-29T12:00:00", "2032-02-29T12:00:00",
                                                             "2036-02-29T12:00:00"]),
    ("0 59 23 31 12 *",         "2024-12-31T23:59:00",      ["2025-12-31T23:59:00", "2026-12-31T23:59:00",
                                                             "2027-12-31T23:59:00"]),
]


@pytest.mark.parametrize("schedule, after, expected", NEXT_FIRE_TIMES)
def test_next_fire_times(schedule, after, expected):
    cron, current, day = ncrontab.parse(schedule), at(after), after[:10]
    fired = []
    for _ in expected:
        current = cron.next_after(current)
        fired.append(current)
    # a bare time means "on the same day as the previous entry"
    wanted = []
    for text in expected:
        day = text[:10] if "T" in text else day
        wanted.append(at(text if "T" in text else f"{day}T{text}"))
    assert fired == wanted


def test_impossible_date_never_fires():
    assert ncrontab.parse("0 0 0 30 2 *").next_after(at("2024-01-01T00:00:00")) is None


@pytest.mark.parametrize("schedule", [
    "* * * * *",            # five fields: the host wants six
    "* * * * * * *",
    "60 * * * * *", "* 60 * * * *", "* * 24 * * *", "* * * 0 * *", "* * * 32 * *", "* * * * 13 *",
    "* * * * * 7", "*/0 * * * * *", "a * * * * *", "5-1 * * * * *", "* * * * FOO *", "1,,2 * * * * *",
])
def test_invalid_expressions_are_refused(schedule):
    with pytest.raises(ncrontab.CronError):
        ncrontab.parse(schedule)


def test_timespan_schedule_fires_every_interval():
    schedule = parse_schedule("00:00:30")
    assert schedule == Interval(30.0)
    assert schedule.next_after(at("2024-01-01T00:00:10")) == at("2024-01-01T00:00:40")


@pytest.mark.parametrize("text", ["00:00:00", "nonsense", "* * * * *"])
def test_unrecognised_schedule_names_itself(text):
    with pytest.raises(ValueError, match=f"The schedule expression '{text.replace('*', '.')}' was not recognized"):
        parse_schedule(text)


@pytest.mark.parametrize("schedule, monitored", [
    ("* * * * * *", False), ("*/30 * * * * *", False), ("0 * * * * *", True), ("0 0 3 * * *", True),
    ("00:00:30", False), ("00:05:00", True),
])
def test_monitor_defaults_to_on_for_schedules_of_a_minute_or_more(schedule, monitored):
    assert monitor_by_default(parse_schedule(schedule), at("2024-01-01T00:00:00")) is monitored
