"""Runs user functions on one thread pool shared by all triggers, sized like the Python worker's
default (min(32, cpus + 4), or PYTHON_THREADPOOL_THREAD_COUNT), so concurrency limits seen
locally are the ones Azure imposes. Async functions run to completion on the pool thread.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
import time
import traceback
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost import log
from devhost.app_index import CONTEXT_PARAM, IndexedFunction

_thread_local = threading.local()
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


class Invoker:
    def __init__(self, threads: int):
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="devhost-fn")
        self._active = 0
        self._idle = threading.Condition()

    def submit(self, function: IndexedFunction, trigger_value: Any) -> Future:
        """Run `function` with its trigger argument; the future holds its return value or exception."""
        return self._pool.submit(self._run, function, trigger_value)

    def _run(self, function: IndexedFunction, trigger_value: Any) -> Any:
        invocation_id = str(uuid.uuid4())
        _thread_local.invocation_id = invocation_id
        args = {name: Context(function, invocation_id) if name == CONTEXT_PARAM else trigger_value
                for name in function.params}
        with self._idle:
            self._active += 1
        try:
            with log.function_scope(function.name):
                result = function.func(**args)
                if inspect.iscoroutine(result):
                    result = asyncio.run(result)
                return result
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def shutdown(self, grace: float) -> int:
        """Start nothing new; give running invocations up to `grace` seconds. Returns how many still run."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        with self._idle:
            while self._active and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)
            return self._active
