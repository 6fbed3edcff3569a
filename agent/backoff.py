"""Retry decisions (pure) and the one retry loop, with the clock, sleep and randomness injected.

Exponential backoff with "equal jitter" (half fixed, half random: never a hot loop, never a
thundering herd); a server's Retry-After is honoured as a floor, plus up to 20 % jitter so a
whole scale set told "retry in 5 s" does not come back in the same millisecond. Every loop has
a total time budget: it gives up rather than block boot or shutdown forever.
"""
from __future__ import annotations

import email.utils
import logging
from typing import Callable, Collection

from agent.httpjson import Reply, Unreachable

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
# IMDS identity endpoint: 404 while the identity is being assigned, 410 while IMDS updates.
IMDS_RETRYABLE = RETRYABLE | {404, 410}
RETRY_AFTER_CAP = 300.0

log = logging.getLogger("agent.backoff")


class GaveUp(Exception):
    """The time budget ran out; the message says what was tried and the last reason."""


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/invalid."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def retry_delay(attempt: int, retry_after: float | None, rand: float,
                base: float = 1.0, cap: float = 30.0) -> float:
    """Delay before retry number `attempt` (0-based); `rand` is uniform in [0, 1)."""
    if retry_after is not None:
        return retry_after + min(retry_after, cap) * 0.2 * rand
    ceiling = min(cap, base * (2 ** min(attempt, 30)))
    return ceiling / 2 + ceiling / 2 * rand


def next_wait(attempt: int, retry_after: float | None, rand: float, elapsed: float, budget: float,
              base: float = 1.0, cap: float = 30.0) -> float | None:
    """How long to sleep before the next try, or None when the budget is spent."""
    remaining = budget - elapsed
    if remaining <= 0:
        return None
    return min(retry_delay(attempt, retry_after, rand, base, cap), remaining)


def retry(attempt_once: Callable[[], Reply], *, what: str, budget: float, clock: Callable[[], float],
          sleep: Callable[[float], None], rand: Callable[[], float],
          retryable: Collection[int] = RETRYABLE, base: float = 1.0, cap: float = 30.0) -> Reply:
    """Call until a non-retryable reply (returned, 2xx or not) or the budget is spent (GaveUp)."""
    start, attempt = clock(), 0
    while True:
        retry_after = None
        try:
            reply = attempt_once()
        except Unreachable as err:
            reason = str(err)
        else:
            if reply.status not in retryable:
                return reply
            reason = reply.error()
            retry_after = parse_retry_after(reply.header("Retry-After"), clock())
        wait = next_wait(attempt, retry_after, rand(), clock() - start, budget, base, cap)
        if wait is None:
            raise GaveUp("%s: gave up after %d tries in %.0f s; last: %s"
                         % (what, attempt + 1, clock() - start, reason))
        log.warning("%s failed (%s); retry %d in %.1f s", what, reason, attempt + 1, wait)
        sleep(wait)
        attempt += 1
