"""Logging for the dev host: every line names the function it came from (or `host`), the way
the Functions host prefixes function logs, so concurrent invocations stay readable.
"""
from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_function = contextvars.ContextVar("devhost_function", default="host")


class _FunctionName(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.function = _function.get()
        return True


def setup(level: int = logging.INFO) -> None:
    """Root logger -> stderr with the function name; the Azure SDKs' per-request chatter muted."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_FunctionName())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(function)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("azure").setLevel(logging.WARNING)


@contextmanager
def function_scope(name: str) -> Iterator[None]:
    token = _function.set(name)
    try:
        yield
    finally:
        _function.reset(token)
