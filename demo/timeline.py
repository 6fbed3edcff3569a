"""The demo's output: one line per step, with the seconds since the demo started."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO, TypeVar

from localenv.waiting import wait_for

T = TypeVar("T")


class StepFailed(Exception):
    """A step did not do what the story says; the message says what, the demo exits non-zero."""


class Timeline:
    def __init__(self, out: TextIO | None = None):
        self.out, self.started = out, time.monotonic()  # None: sys.stdout at the time of printing

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, text: str) -> None:
        print(f"[{self.elapsed:5.1f}s] {text}", file=self.out or sys.stdout, flush=True)

    def more(self, text: str) -> None:
        """A detail of the step just printed."""
        self.say("        " + text)


def check(condition: object, what: str) -> None:
    if not condition:
        raise StepFailed(what)


def wait_until(probe: Callable[[], T], timeout: float, what: str, interval: float = 0.02) -> T:
    """Call `probe` until it returns something truthy (returned); StepFailed after `timeout` seconds."""
    return wait_for(probe, timeout, interval, what, error=StepFailed)
