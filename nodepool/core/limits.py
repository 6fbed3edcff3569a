"""How long each outbound call may take, and how many run at once: the one place the adapters take
their timeouts and pool sizes from, and the drain lease (drain/state.py) its length. Pure.

A drain holds its event row's lease only while every call it makes fits inside it; so the lease is
sized from these timeouts, and raising one of them lengthens the lease with it.
"""
from __future__ import annotations

from dataclasses import dataclass

# Kubernetes: one reconnect, never a resend (adapters/kube_http.py)
KUBE_CONNECT_S, KUBE_READ_S = 3.0, 10.0
KUBE_CALL_S = 2 * KUBE_CONNECT_S + KUBE_READ_S
# ARM: azure-core's retries, none started past the budget (adapters/scaleset.py BoundedRetry)
ARM_CONNECT_S, ARM_READ_S, ARM_RETRY_BUDGET_S = 5.0, 10.0, 20.0
ARM_CALL_S = ARM_RETRY_BUDGET_S + ARM_CONNECT_S + ARM_READ_S
# Table and queue storage: two retries, 0.2 s then 0.4 s apart at most (adapters/tables.py, queues.py)
STORAGE_CONNECT_S, STORAGE_READ_S, STORAGE_RETRIES, STORAGE_BACKOFF_S = 3.0, 10.0, 2, 0.2
STORAGE_CALL_S = ((STORAGE_RETRIES + 1) * (STORAGE_CONNECT_S + STORAGE_READ_S)
                  + sum(STORAGE_BACKOFF_S * 2 ** n for n in range(STORAGE_RETRIES)))
LONGEST_CALL_S = max(KUBE_CALL_S, ARM_CALL_S, STORAGE_CALL_S)

# host.json's functionTimeout (tests/unit/test_host_limits.py keeps the two equal): the Functions host
# kills an invocation that runs longer, so every queue-triggered drain must end well before it
FUNCTION_TIMEOUT_S = 30 * 60
# The Python worker's threads (PYTHON_THREADPOOL_THREAD_COUNT in host settings and functionapp.bicep)
HOST_THREADS = 32
PARALLEL_EVICTIONS = 4  # one drain's evictions in flight at once: 20 pods go out in five round trips


@dataclass(frozen=True)
class Pools:
    """Every thread and connection pool of one app instance, sized from NODEPOOL_DRAIN_WORKERS (the drains
    short of time evicting at once), so raising it never leaves a pool downstream the bottleneck."""
    drain_workers: int
    host_threads: int = HOST_THREADS

    @property
    def evicting(self) -> int:
        """Drains evicting at once: `drain_workers` short of time, a quarter as many with time to spare."""
        return self.drain_workers + max(1, self.drain_workers // 4) if self.drain_workers else 0

    @property
    def drain_threads(self) -> int:
        """In-process drains at once, one thread each: most sleep (between passes, or while pods use their
        grace), so four for every one evicting."""
        return 4 * self.drain_workers

    @property
    def eviction_threads(self) -> int:
        """Evictions in flight across this instance's drains, half a thread per drain short of time: a mass
        eviction must not starve the worker's HTTP threads of CPU (on 2 cores, more did)."""
        return max(PARALLEL_EVICTIONS, self.drain_workers // 2)

    @property
    def kube_connections(self) -> int:
        """The worker's threads, each evicting drain's listing and the evictions in flight."""
        return self.host_threads + self.evicting + self.eviction_threads

    @property
    def storage_connections(self) -> int:
        """The worker's threads and the in-process drains' lease and row writes."""
        return self.host_threads + self.drain_workers

    @property
    def audit_writers(self) -> int:
        """Audit inserts in flight at once (the trail's bounded queue drains through these)."""
        return max(2, self.drain_workers // 8)
