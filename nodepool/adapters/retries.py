"""azure-core's retry policy with jitter: its exponential backoff is the same for every caller, so the
64 drains of a mass eviction, or every worker after a storage restart, retried in lockstep."""
from __future__ import annotations

from typing import Any

from azure.core.pipeline.policies import RetryPolicy

from nodepool.core.jitter import equal_jitter


class JitteredRetry(RetryPolicy):
    """Each backoff is taken between half of azure-core's and all of it ("equal jitter")."""

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        return equal_jitter(super().get_backoff_time(settings))
