"""ARM long-running operations: the `Azure-AsyncOperation` status and `Location` monitor URLs.

An operation is done when its predicate over the world says so (new VMs booted, deleted
VMs gone); clients poll the status URL as azure-core's ARMPolling does.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from sim.arm_json import iso

FAILED = "At least one resource deployment operation failed."


class Operations:
    def __init__(self, clock=time.time):
        self.clock = clock
        self._ops: dict[str, tuple[float, Callable[[], bool], list[float]]] = {}
        self._lock = threading.Lock()
        self._failed: dict[str, Callable[[], bool]] = {}  # operations that can end Failed (deployments)

    def start(self, done: Callable[[], bool], failed: Callable[[], bool | dict] | None = None) -> str:
        op_id = str(uuid.uuid4())
        with self._lock:
            self._ops[op_id] = (self.clock(), done, [])
            if failed is not None:
                self._failed[op_id] = failed
        return op_id

    def finished(self, op_id: str) -> bool | None:
        """None for an unknown operation."""
        with self._lock:
            op = self._ops.get(op_id)
        if op is None:
            return None
        started, done, ended = op
        if not ended and done():
            ended.append(self.clock())
        return bool(ended)

    def status(self, op_id: str) -> dict | None:
        finished = self.finished(op_id)
        if finished is None:
            return None
        started, _, ended = self._ops[op_id]
        failed = finished and self._failed.get(op_id, lambda: False)()
        body = {"name": op_id, "startTime": iso(started),
                "status": "Failed" if failed else "Succeeded" if finished else "InProgress"}
        if failed:  # `failed` may name its error, as a scale-out whose allocation failed does
            body["error"] = failed if isinstance(failed, dict) else {"code": "DeploymentFailed", "message": FAILED}
        if finished:
            body["endTime"] = iso(ended[0])
        return body

    @staticmethod
    def headers(base_url: str, subscription: str, location: str, op_id: str, api_version: str) -> dict:
        url = (f"{base_url}/subscriptions/{subscription}/providers/Microsoft.Compute"
               f"/locations/{location}/operations/{op_id}")
        return {"Azure-AsyncOperation": f"{url}?p={op_id}&api-version={api_version}",
                "Location": f"{url}?p={op_id}&monitor=true&api-version={api_version}"}
