"""Waits spread at random, so that many drains or workers backing off after the same fault do not
retry in lockstep. Not pure (it draws random numbers): use cases and adapters call it."""
from __future__ import annotations

import random


def equal_jitter(seconds: float) -> float:
    """A wait taken between half of `seconds` and all of it: many drains or workers backing off after
    the same fault spread out instead of retrying in lockstep."""
    return seconds / 2 + random.uniform(0, seconds / 2)  # noqa: S311 (spreading retries, not a secret)
