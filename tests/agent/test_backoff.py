"""The retry decisions, as pure functions."""
from __future__ import annotations

import email.utils

import pytest

from agent.backoff import RETRY_AFTER_CAP, next_wait, parse_retry_after, retry_delay

NOW = 1_700_000_000.0


@pytest.mark.parametrize("header, expected", [
    ("5", 5.0), (" 2 ", 2.0), ("0", 0.0), ("-3", 0.0), ("1.5", 1.5),
    (email.utils.formatdate(NOW + 30, usegmt=True), 30.0),
    (email.utils.formatdate(NOW - 30, usegmt=True), 0.0),
    ("99999", RETRY_AFTER_CAP), ("soon", None), ("", None), (None, None), ("nan", None),
])
def test_retry_after_is_seconds_or_an_http_date(header, expected):
    assert parse_retry_after(header, NOW) == expected


def test_exponential_backoff_doubles_up_to_the_cap_with_equal_jitter():
    lows = [retry_delay(n, None, 0.0, base=1, cap=30) for n in range(8)]
    highs = [retry_delay(n, None, 0.999999, base=1, cap=30) for n in range(8)]
    assert lows == [0.5, 1, 2, 4, 8, 15, 15, 15]
    assert [round(h) for h in highs] == [1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_never_gives_a_zero_wait():
    assert min(retry_delay(n, None, 0.0) for n in range(20)) > 0


def test_retry_after_is_a_floor_with_up_to_twenty_percent_jitter():
    assert retry_delay(0, 10.0, 0.0) == 10.0
    assert retry_delay(7, 10.0, 0.999999) == pytest.approx(12.0, abs=1e-3)


def test_huge_attempt_numbers_do_not_overflow():
    assert retry_delay(10_000, None, 0.5, cap=30) == 22.5


def test_the_budget_cuts_the_last_wait_and_then_stops():
    assert next_wait(0, 10.0, 0.0, elapsed=55, budget=60) == 5
    assert next_wait(0, 10.0, 0.0, elapsed=60, budget=60) is None
    assert next_wait(3, None, 0.0, elapsed=0, budget=60) == 4
