"""Runs user functions on one thread pool shared by all triggers, sized like the Python worker's
default (min(32, cpus + 4), or PYTHON_THREADPOOL_THREAD_COUNT), so concurrency limits seen
locally are the ones Azure imposes. Async functions run to completion on the pool thread.

host.json's functionTimeout is honoured as the Functions host honours it for an out-of-process
worker: an invocation still running when it expires fails with FunctionTimeout, and so does every
other invocation in flight, because the host then restarts the worker process (`on_timeout`: the dev
host re-executes itself), which ends them all. Their triggers see a failure: a queue message comes
back after visibilityTimeout, an HTTP caller gets a 500.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost import log
from devhost.app_index import CONTEXT_PARAM, IndexedFunction

_thread_local = threading.local()
host_log = logging.getLogger("devhost")
_PLUMBING = (str(Path(__file__).parent), str(Path(concurrent.futures.__file__).parent))


def failure_text(err: BaseException) -> str:
    """The traceback of a failed invocation, without the dev host's own frames in the way."""
    failure = traceback.TracebackException.from_exception(err)
    failure.stack = traceback.StackSummary.from_list(
        [frame for frame in failure.stack if not frame.filename.startswith(_PLUMBING)])
    return "".join(failure.format()).rstrip()


class Context(func.Context):
    """The `context` argument: invocation id, function name and directory."""

    def __init__(self, function: IndexedFunction, invocation_id: str):
        self._function, self._invocation_id = function, invocation_id

    invocation_id = property(lambda self: self._invocation_id)
    thread_local_storage = property(lambda self: _thread_local)
    function_name = property(lambda self: self._function.name)
    function_directory = property(lambda self: self._function.directory)
    trace_context = property(lambda self: None)
    retry_context = property(lambda self: None)


class FunctionTimeout(Exception):
    """The invocation outlived functionTimeout, or ended with the worker another one's timeout restarted."""


def timespan(seconds: float) -> str:
    """Seconds as the host writes a TimeSpan in its messages: 00:05:00."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class Invoker:
    def __init__(self, threads: int, timeout_s: float | None = None,
                 on_timeout: Callable[[], None] | None = None):
        self.threads, self.timeout_s, self._on_timeout = threads, timeout_s, on_timeout
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="devhost-fn")
        self._active = 0
        self._idle = threading.Condition()
        self._running: dict[str, tuple[IndexedFunction, Future]] = {}

    def submit(self, function: IndexedFunction, trigger_value: Any) -> Future:
        """Run `function` with its trigger argument; the future holds its return value or exception."""
        invocation_id, outcome = str(uuid.uuid4()), Future()
        work = self._pool.submit(self._run, function, trigger_value, invocation_id, outcome)
        work.add_done_callback(lambda done: outcome.cancel() if done.cancelled() else None)
        return outcome

    def _run(self, function: IndexedFunction, trigger_value: Any, invocation_id: str, outcome: Future) -> None:
        if not outcome.set_running_or_notify_cancel():
            return
        _thread_local.invocation_id = invocation_id
        args = {name: Context(function, invocation_id) if name == CONTEXT_PARAM else trigger_value
                for name in function.params}
        with self._idle:
            self._active += 1
            self._running[invocation_id] = (function, outcome)
        timer = self._watch(function, invocation_id)
        try:
            with log.function_scope(function.name):
                result = function.func(**args)
                if inspect.iscoroutine(result):
                    result = asyncio.run(result)
            self._settle(outcome, result=result)
        except BaseException as err:  # noqa: B036 (the invocation's outcome, whatever it raised)
            self._settle(outcome, error=err)
        finally:
            if timer:
                timer.cancel()
            with self._idle:
                self._active -= 1
                self._running.pop(invocation_id, None)
                self._idle.notify_all()

    def _watch(self, function: IndexedFunction, invocation_id: str) -> threading.Timer | None:
        if self.timeout_s is None:
            return None
        timer = threading.Timer(self.timeout_s, self._expired, (function, invocation_id))
        timer.daemon = True
        timer.start()
        return timer

    def _expired(self, function: IndexedFunction, invocation_id: str) -> None:
        with self._idle:
            running = self._running.get(invocation_id)
            others = [outcome for i, (_, outcome) in self._running.items() if i != invocation_id]
        if running is None:
            return  # it finished as the timer fired
        host_log.error("Timeout value of %s exceeded by function 'Functions.%s' (Id: '%s'). Initiating cancellation.",
                       timespan(self.timeout_s or 0), function.name, invocation_id)
        self._settle(running[1], error=FunctionTimeout(f"Timeout value of {timespan(self.timeout_s or 0)} exceeded"))
        for outcome in others:  # the worker restarts: whatever else runs on it ends with it
            self._settle(outcome, error=FunctionTimeout(f"the worker restarted after a timeout in {function.name}"))
        if self._on_timeout:
            self._on_timeout()

    @staticmethod
    def _settle(outcome: Future, *, result: Any = None, error: BaseException | None = None) -> None:
        """The first outcome wins: a timeout, or the function's own end (which a timeout may have preceded)."""
        try:
            outcome.set_exception(error) if error is not None else outcome.set_result(result)
        except concurrent.futures.InvalidStateError:
            pass

    def shutdown(self, grace: float) -> int:
        """Start nothing new; give running invocations up to `grace` seconds. Returns how many still run."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        with self._idle:
            while self._active and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
            return self._active
