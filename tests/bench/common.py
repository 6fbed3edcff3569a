"""Shared pieces of the benchmarks in tests/bench: the local stack, closed-loop load, request
counting, and the one way figures are printed.

- `BenchStack`: our own Azurite (in memory), a Simulator (ARM, IdP, IMDS, KubeSim) in this
  process, and the app in dev hosts started as subprocesses (`start_host`), so a load generator
  here never shares the app's interpreter. Extra hosts can point at a proxy (`table_url`).
- `CountingProxy`: a loopback HTTP/1.1 reverse proxy that counts the requests passing through
  (e.g. in front of Azurite's table endpoint). Use it for a separate counting run, never for a
  timed one: it adds a hop.
- `run_load`: `total` calls of `task(i, session)` from `concurrency` threads that start together
  and take work from one counter (closed loop); latencies of the calls that succeeded, errors.
- `emit`: human-readable lines (unless --json), then one JSON object as the last line.
"""
from __future__ import annotations

import http.client
import json
import math
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import urlsplit

import requests

from devhost.azurite import DEV_ACCOUNT, Azurite
from devhost.testing import DevHost
from sim.cluster import Simulator

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


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


# -- counting proxy ---------------------------------------------------------------------------------
class CountingProxy:
    """HTTP/1.1 reverse proxy on 127.0.0.1 to `upstream` (http://host:port); `counts` keys are
    "METHOD /first-path-segment/second" with any "(keys)" or query cut off, e.g.
    "GET /devstoreaccount1/nodes". One upstream connection per client connection."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, method: str, path: str) -> None:
        segments = urlsplit(path).path.split("/")[1:3]
        key = f"{method} /" + "/".join(s.split("(")[0] for s in segments)
        with self._lock:
            self.counts[key] += 1

    def take(self) -> Counter[str]:
        """The counts so far; the counter starts again from zero."""
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _proxy_handler(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        upstream: http.client.HTTPConnection | None = None

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            proxy.count(self.command, self.path)
            for attempt in (1, 2):  # a kept-alive upstream connection may have closed meanwhile
                if self.upstream is None:
                    self.upstream = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    self.upstream.request(self.command, self.path, body=body or None, headers=headers)
                    reply = self.upstream.getresponse()
                    data = reply.read()
                    break
                except (http.client.HTTPException, OSError):
                    self.upstream.close()
                    self.upstream = None
                    if attempt == 2:
                        raise
            self.send_response(reply.status, reply.reason)
            for name, value in reply.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_MERGE = _forward

        def log_message(self, *args) -> None:
            pass

    return Handler


# -- the stack --------------------------------------------------------------------------------------
@dataclass
class BenchStack:
    """Azurite + Simulator + dev hosts, all on loopback; stop() (or `with`) ends what it started."""
    agents: int = 50
    sim_options: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    azurite: Azurite | None = None
    sim: Simulator | None = None
    hosts: list[DevHost] = field(default_factory=list)

    def start(self) -> BenchStack:
        """Azurite and the simulator (hosts come with `start_host`); on failure, stop what started."""
        self._state = TemporaryDirectory(prefix="bench-devhost-")
        try:
            self.azurite = Azurite().start()
            self.sim = Simulator(self.agents, **{"boot_seconds": 0.1, **self.sim_options}).start()
        except BaseException:
            self.stop()
            raise
        return self

    def connection_string(self, table_url: str | None = None) -> str:
        conn = self.azurite.connection_string()
        if table_url:
            ours = f"http://127.0.0.1:{self.azurite.ports['table']}/{DEV_ACCOUNT}"
            conn = conn.replace(ours, f"{table_url.rstrip('/')}/{DEV_ACCOUNT}")
        return conn

    @property
    def table_url(self) -> str:
        return f"http://127.0.0.1:{self.azurite.ports['table']}"

    def start_host(self, env: dict | None = None, table_url: str | None = None,
                   args: Iterable[str] = ("--no-timers",)) -> DevHost:
        """The app in its own process, on this stack's storage (tables through `table_url` if given)."""
        state = Path(self._state.name) / f"host{len(self.hosts)}"
        host = DevHost(env={"AzureWebJobsStorage": self.connection_string(table_url), "NODEPOOL_CLUSTER": "bench",
                            "DEVHOST_STATE_DIR": str(state), **self.sim.settings_env(), **self.env, **(env or {})},
                       args=list(args))
        self.hosts.append(host)
        return host.start()

    def register_master(self, host: DevHost) -> None:
        response = requests.post(f"{host.url}/api/cluster", json=self.sim.kube.registration(), timeout=30,
                                 headers={"x-functions-key": host.function_key,
                                          "Authorization": f"Bearer {self.sim.token('master')}"})
        response.raise_for_status()

    def stop(self) -> None:
        for host in self.hosts:
            host.stop()
        if self.sim:
            self.sim.stop()
        if self.azurite:
            self.azurite.stop()
        self._state.cleanup()

    def __enter__(self) -> BenchStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
