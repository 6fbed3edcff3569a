"""Shared pieces of the benchmarks in tests/bench: the local stack, closed-loop load, request
counting, and the one way figures are printed.

- `bench_stack`: the LocalStack (localenv/stack.py) with our own Azurite (in memory), the
  Simulator in this process, and the app in dev hosts started as subprocesses (`start_host`),
  so a load generator here never shares the app's interpreter. Extra hosts can have their
  tables go through a CountingProxy (`count_tables()`).
- `run_load`: `total` calls of `task(i, session)` from `concurrency` threads that start together
  and take work from one counter (closed loop); latencies of the calls that succeeded, errors.
- `emit`: human-readable lines (unless --json), then one JSON object as the last line.
"""
from __future__ import annotations

import json
import math
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import requests

from localenv.stack import LocalStack


# -- figures ----------------------------------------------------------------------------------------
def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def median_of(rounds: list[dict], keys: Iterable[str]) -> dict:
    return {key: statistics.median(r[key] for r in rounds) for key in keys}


def emit(figures: dict, as_json: bool, lines: Iterable[str] = ()) -> None:
    if not as_json:
        for line in lines:
            print(line)
    print(json.dumps(figures, sort_keys=False), flush=True)


def rounded(figures: dict, digits: int = 3) -> dict:
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in figures.items()}


# -- load -------------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    latencies_ms: list[float]
    errors: list[str]
    wall_s: float

    @property
    def done(self) -> int:
        return len(self.latencies_ms)

    @property
    def per_s(self) -> float:
        return self.done / self.wall_s if self.wall_s else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q) if self.latencies_ms else float("nan")


def combined(*parts: LoadResult) -> LoadResult:
    """Several runs of one load as a single sample (latencies pooled, walls added)."""
    return LoadResult([x for p in parts for x in p.latencies_ms], [e for p in parts for e in p.errors],
                      sum(p.wall_s for p in parts))


def run_load(task: Callable[[int, object], None], total: int, concurrency: int,
             session: Callable[[int], object] = lambda k: requests.Session()) -> LoadResult:
    """Thread k makes its own client with `session(k)` (a keep-alive connection, say) and passes it
    to every `task(i, client)` it runs; `task` raises to count an error."""
    lock, cursor = threading.Lock(), iter(range(total))
    latencies: list[float] = []
    errors: list[str] = []
    start = threading.Barrier(concurrency + 1)

    def worker(k: int) -> None:
        client = session(k)
        start.wait()
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            began = time.perf_counter()
            try:
                task(i, client)
            except Exception as err:  # a benchmark counts failures; it does not stop at the first
                with lock:
                    errors.append(f"{type(err).__name__}: {err}"[:300])
                continue
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(concurrency)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return LoadResult(latencies, errors, time.perf_counter() - began)


# -- the stack --------------------------------------------------------------------------------------
def bench_stack(agents: int = 50, sim_options: dict | None = None, env: dict | None = None) -> LocalStack:
    """The local stack as benchmarks run it: VMs that boot in 0.1 s, app hosts only from `start_host`
    (each its own process, timers off), tables through `count_tables()` for a counting run."""
    return LocalStack(agents, sim_options={"boot_seconds": 0.1, **(sim_options or {})},
                      app_settings={"NODEPOOL_CLUSTER": "bench", **(env or {})}, host_args=["--no-timers"], hosts=0)
