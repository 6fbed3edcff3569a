"""Benchmark: storage transactions an idle app spends polling its queues, per maxPollingInterval.

    python -m tests.bench.queue_idle [--json] [--seconds S] [--intervals 00:00:02,00:00:00.5,...]

The real app in a dev host (no timers, nothing enqueued), its queue endpoint behind a counting
proxy (localenv/counting_proxy.py), once per `extensions.queues.maxPollingInterval`
(set with the host's own `AzureFunctionsJobHost__...` override, host.json unchanged). After a
warm-up long enough for the listener's back-off to reach the maximum, it counts every queue
request for `--seconds` (at least three polls) and reports transactions per month (30 days) at that rate: one key per
interval, e.g. `tx_month_2s`, plus `tx_month_per_queue_2s` (the app has one queue trigger per
queue: node-events and its poison queue). The timers' own storage traffic is not counted.
"""
from __future__ import annotations

import argparse
import sys
import time

from devhost.host_config import parse_timespan
from localenv.azurite import DEV_ACCOUNT
from localenv.counting_proxy import CountingProxy
from localenv.stack import LocalStack
from tests.bench.common import bench_stack, emit

MONTH_S = 30 * 86400
INTERVALS = ("00:00:02", "00:00:01", "00:00:00.5", "00:00:10", "00:01:00")
WARM_S, SECONDS = 8.0, 60.0
OVERRIDE = "AzureFunctionsJobHost__extensions__queues__maxPollingInterval"


def measure(stack: LocalStack, interval: str, seconds: float) -> tuple[float, int, dict]:
    """(transactions per second, queues polled, counts by request) with this maxPollingInterval."""
    ours = f"http://127.0.0.1:{stack.azurite.ports['queue']}"
    with CountingProxy(ours) as proxy:
        conn = stack.connection_string().replace(f"{ours}/{DEV_ACCOUNT}", f"http://127.0.0.1:{proxy.port}/{DEV_ACCOUNT}")
        host = stack.start_host(env={"AzureWebJobsStorage": conn, OVERRIDE: interval})
        try:
            longest = parse_timespan(interval)
            time.sleep(max(WARM_S, 2 * longest + 5))  # the back-off from 0.1 s has reached the maximum
            proxy.take()
            started = time.monotonic()
            time.sleep(max(seconds, 3 * longest))  # a few polls at the longest interval
            counts = proxy.take()
            elapsed = time.monotonic() - started
        finally:
            host.stop()
            stack.apps.remove(host)
    queues = {key.split("/")[2] for key in counts if key.count("/") >= 2}
    return sum(counts.values()) / elapsed, len(queues), dict(counts)


def label(interval: str) -> str:
    return f"{parse_timespan(interval):g}s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the figures, as one JSON line")
    parser.add_argument("--seconds", type=float, default=SECONDS, help=f"counting window (default {SECONDS:g})")
    parser.add_argument("--intervals", default=",".join(INTERVALS), help="maxPollingInterval values (TimeSpan)")
    args = parser.parse_args(argv)
    figures, lines = {}, []
    with bench_stack(agents=1) as stack:
        for interval in [i.strip() for i in args.intervals.split(",") if i.strip()]:
            per_s, queues, counts = measure(stack, interval, args.seconds)
            figures[f"tx_month_{label(interval)}"] = round(per_s * MONTH_S)
            figures[f"tx_month_per_queue_{label(interval)}"] = round(per_s * MONTH_S / max(1, queues))
            lines.append(f"{interval}: {per_s:.3f} requests/s over {queues} queues {counts}")
    emit(figures, args.json, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
