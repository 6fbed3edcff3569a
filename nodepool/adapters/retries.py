"""azure-core's retry policy with jitter: its exponential backoff is the same for every caller, so the
64 drains of a mass eviction, or every worker after a storage restart, retried in lockstep."""
from __future__ import annotations

import random
from typing import Any

from azure.core.pipeline.policies import RetryPolicy


class JitteredRetry(RetryPolicy):
    """Each backoff is taken between half of azure-core's and all of it ("equal jitter")."""

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        backoff = super().get_backoff_time(settings)
        return backoff / 2 + random.uniform(0, backoff / 2)  # noqa: S311 (spreading retries, not a secret)
