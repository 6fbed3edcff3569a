"""Telemetry at the service boundaries: the services the triggers call, each call inside a span
(join, event, drain, reconcile.tick, autoscale.tick) with the metrics of nodepool/telemetry.METRICS.

Wrappers built by the composition root around the real services; with telemetry off (NULL) they
cost a context manager a call. Anything not wrapped passes through to the service unchanged.
"""
from __future__ import annotations

import time
from datetime import datetime

from nodepool.telemetry import NULL

NOT_THIS_DRAIN = ("already drained", "draining elsewhere", "lease lost")  # answers of a drain done by another


class _Passthrough:
    def __init__(self, inner, telemetry=NULL):
        self.inner, self.telemetry = inner, telemetry

    def __getattr__(self, name):
        return getattr(self.inner, name)


class ObservedJoins(_Passthrough):
    def join(self, caller, request, now: datetime, *args, **kwargs) -> dict:
        with self.telemetry.span("join", node=request.hostname, fresh=request.fresh):
            answer = self.inner.join(caller, request, now, *args, **kwargs)
        self.telemetry.add("nodepool.joins")
        return answer


class ObservedEvents(_Passthrough):
    def record(self, report, now: datetime, *args, **kwargs) -> dict:
        started = time.monotonic()
        with self.telemetry.span("event", node=report.hostname, count=len(report.events)):
            answer = self.inner.record(report, now, *args, **kwargs)
        if answer.get("events"):  # the Node is cordoned when record returns
            self.telemetry.record("nodepool.cordon.latency", 1000 * (time.monotonic() - started), node=report.hostname)
        return answer


class ObservedDrains(_Passthrough):
    def drain(self, request, **kwargs) -> dict:
        started = time.monotonic()
        with self.telemetry.span("drain", node=request.node, event_id=request.event_id, kind=request.type):
            answer = self.inner.drain(request, **kwargs)
        if answer.get("pods_left") is not None and answer.get("status") not in NOT_THIS_DRAIN:
            self.telemetry.record("nodepool.drain.duration", time.monotonic() - started, kind=request.type)
            self.telemetry.record("nodepool.drain.pods_left", answer["pods_left"], kind=request.type)
        return answer


class ObservedTicks(_Passthrough):
    """reconcile.tick or autoscale.tick: the span, then what the tick applied, by kind."""

    def __init__(self, inner, telemetry, kind: str):
        super().__init__(inner, telemetry)
        self.kind = kind

    def tick(self, now: datetime):
        with self.telemetry.span(f"{self.kind}.tick"):
            report = self.inner.tick(now)
        if not report.dry_run and report.applied:
            metric = "nodepool.reconcile.actions" if self.kind == "reconcile" else "nodepool.autoscale.decisions"
            for kind, count in report.planned.items():
                self.telemetry.add(metric, count, kind=kind)
        for pool, code in getattr(report, "backed_off", {}).items():
            self.telemetry.add("nodepool.pool.backoffs", pool=pool, reason=code)
        return report
