"""What services record besides logs: spans around a use case, counters and histograms.

`Instruments` is the port; nodepool/telemetry.py implements it over OpenTelemetry (Application
Insights), and `NULL` records nothing, for an app without a connection string and for tests.
The names a service may use are telemetry.SPANS and telemetry.METRICS.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol

from nodepool.core.errors import NodepoolError


class Instruments(Protocol):
    def span(self, name: str, **attributes: Any) -> AbstractContextManager[Any]: ...
    def add(self, metric: str, value: float = 1, **attributes: Any) -> None: ...
    def record(self, metric: str, value: float, **attributes: Any) -> None: ...


class NullTelemetry:
    """Telemetry switched off: the same calls, nothing recorded, nothing imported."""

    @contextmanager
    def span(self, name: str, **attributes: Any) -> Iterator[None]:
        yield None

    def add(self, metric: str, value: float = 1, **attributes: Any) -> None:
        pass

    def record(self, metric: str, value: float, **attributes: Any) -> None:
        pass


NULL = NullTelemetry()


@contextmanager
def bugs_counted(instruments: Instruments, where: str) -> Iterator[None]:
    """Count what escapes `where` that is no typed error of ours (a bug), then let it raise with its stack."""
    try:
        yield
    except NodepoolError:
        raise
    except Exception:
        instruments.add("nodepool.errors", where=where)
        raise
