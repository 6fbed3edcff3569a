"""The dev host: settings, host.json and the function index in; HTTP server, queue listeners
and timers out. Everything is checked before anything starts, so a bad binding, route,
schedule or `%SETTING%` stops start-up with a message naming the function.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, MutableMapping
from pathlib import Path

from devhost.app_index import IndexedFunction, index_app
from devhost.auth import LEVELS, Keys
from devhost.host_config import HostConfig
from devhost.http_server import FunctionsHttpServer
from devhost.invoker import Invoker
from devhost.queue_clients import queue_client_factory
from devhost.queue_listener import QueueListener
from devhost.routes import RouteTable, compile_route
from devhost.settings import HostSettings, load_local_settings, resolve
from devhost.timers import ScheduleMonitor, TimerRunner, monitor_by_default, parse_schedule, utcnow

log = logging.getLogger("devhost")
_QUEUE_NAME = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


class StartupError(RuntimeError):
    pass


class Host:
    def __init__(self, app_dir: Path, port: int | None = None, bind: str = "127.0.0.1", queues: bool = True,
                 timers: bool = True, env: MutableMapping[str, str] = os.environ,
                 restart_worker: Callable[[], None] | None = None):
        self.app_dir, self.port, self.bind = Path(app_dir).resolve(), port, bind
        self.with_queues, self.with_timers, self.env = queues, timers, env
        self.restart_worker = restart_worker  # after a functionTimeout, as the host restarts its language worker
        self.routes, self.listeners, self.timers, self.summary = [], [], [], []

    def start(self) -> Host:
        local = load_local_settings(self.app_dir, self.env)
        config, settings = HostConfig.load(self.app_dir, self.env), HostSettings.from_env(self.app_dir, self.env)
        self.keys = Keys.from_settings(settings)
        self.invoker = Invoker(settings.threads, config.function_timeout_s, self.restart_worker)
        for function in index_app(self.app_dir):
            try:
                self._plan(function, config, settings)
            except (ValueError, KeyError) as err:
                raise StartupError(f"function '{function.name}': {err}") from None
        port = self.port if self.port is not None else int((local.get("Host") or {}).get("LocalHttpPort", 7071))
        try:
            self.server = FunctionsHttpServer((self.bind, port), RouteTable(self.routes), self.keys, self.invoker,
                                              settings.body_limit)
        except OSError as err:
            raise StartupError(f"cannot listen on {self.bind}:{port}: {err}") from None
        threading.Thread(target=self.server.serve_forever, args=(0.1,), name="http", daemon=True).start()
        for runner in (*self.listeners, *self.timers):
            runner.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _plan(self, function: IndexedFunction, config: HostConfig, settings: HostSettings) -> None:
        trigger, kind = function.trigger, function.trigger_type
        if kind == "httpTrigger":
            level = str(trigger.get("authLevel") or "function").lower()
            if level not in LEVELS:
                raise ValueError(f"unsupported authLevel '{level}'")
            route = compile_route(config.route_prefix, trigger.get("route") or function.name,
                                  trigger.get("methods"), function)
            self.routes.append(route)
            methods = ",".join(sorted(route.methods)) if route.methods else "all methods"
            self.summary.append(f"{function.name}: [{methods}] /{config.route_prefix}/{route.template} ({level})")
        elif kind == "queueTrigger":
            queue = resolve(trigger["queueName"], self.env)
            if not _QUEUE_NAME.match(queue):
                raise ValueError(f"invalid queue name '{queue}' (3-63 lowercase letters, digits and single dashes)")
            clients = queue_client_factory(trigger.get("connection") or "AzureWebJobsStorage", self.env)
            self.summary.append(f"{function.name}: queueTrigger (queue {queue})")
            if self.with_queues:
                self.listeners.append(QueueListener(function, queue, clients, config.queues, self.invoker,
                                                    settings.queue_lease_s))
        elif kind == "timerTrigger":
            expression = resolve(trigger["schedule"], self.env)
            schedule = parse_schedule(expression)
            monitored = trigger.get("useMonitor")
            monitored = monitor_by_default(schedule, utcnow()) if monitored is None else bool(monitored)
            monitor = ScheduleMonitor(settings.state_dir / "timers" / f"{function.name}.json") if monitored else None
            self.summary.append(f"{function.name}: timerTrigger (schedule {expression}, UTC)")
            if self.with_timers:
                self.timers.append(TimerRunner(function, schedule, bool(trigger.get("runOnStartup")), monitor,
                                               self.invoker))

    def stop(self, grace: float = 10.0) -> None:
        """Stop taking work, let running invocations finish (up to `grace` s), then return."""
        self.server.shutdown()
        for runner in (*self.listeners, *self.timers):
            runner.stop()
        if running := self.invoker.shutdown(grace):
            log.warning("stopping with %d invocation(s) still running after %.0f s", running, grace)
        for runner in (*self.listeners, *self.timers):
            runner.join(timeout=5)
        self.server.server_close()
