"""In-memory EventQueue: what was sent, in order; `fail_next` makes sends raise."""
from __future__ import annotations

from nodepool.core.errors import NodepoolError


class FakeEventQueue:
    def __init__(self):
        self.messages: list[dict] = []
        self.delays: list[float] = []  # each message's delay_s, in the same order
        self._failures: list[NodepoolError] = []

    def fail_next(self, error: NodepoolError, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def send(self, message: dict, delay_s: float = 0) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.messages.append(message)
        self.delays.append(delay_s)
