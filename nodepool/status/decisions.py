"""What each reconcile and autoscale tick leaves behind for the operator: its decision, recorded in
the decision log (GET /api/status shows the last few), and its metrics."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol

from nodepool.core.errors import NodepoolError
from nodepool.core.instruments import Instruments
from nodepool.core.logs import logger

log = logger(__name__)
KINDS = ("reconcile", "autoscale")


class DecisionLog(Protocol):
    """What the last ticks decided, newest first (one Table Storage row a tick in production)."""
    def record(self, kind: str, at: datetime, decision: dict) -> None: ...  # kind: reconcile | autoscale
    def recent(self, kind: str, limit: int = 5) -> list[dict]: ...  # [{"at": iso, "line": ..., ...}]


class TickOutcome(Protocol):
    """A tick's report, as reconcile's TickReport and autoscale's AutoscaleReport both give it (frozen)."""
    @property
    def planned(self) -> dict[str, int]: ...  # actions by kind
    @property
    def applied(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def blocked(self) -> str | None: ...
    @property
    def dry_run(self) -> bool: ...
    @property
    def backed_off(self) -> dict[str, str]: ...  # pool -> the capacity error that backed it off

    def line(self) -> str: ...
    def reasons(self) -> list[str]: ...


def decision_of(report: TickOutcome) -> dict:
    out = {"line": report.line(), "planned": dict(report.planned), "applied": report.applied,
           "failed": report.failed, "blocked": report.blocked, "dry_run": report.dry_run}
    return {**out, "reasons": report.reasons()[:20]}


def ticked(kind: str, now: datetime, report: TickOutcome, decisions: DecisionLog | None,
           telemetry: Instruments) -> None:
    """Record a finished tick: its metrics, then its decision row. A decision log that cannot be
    written costs the row only, never the tick."""
    if not report.dry_run and report.applied:
        metric = "nodepool.reconcile.actions" if kind == "reconcile" else "nodepool.autoscale.decisions"
        for action, count in report.planned.items():
            telemetry.add(metric, count, kind=action)
    for pool, code in report.backed_off.items():
        telemetry.add("nodepool.pool.backoffs", pool=pool, reason=code)
    if decisions is None:
        return
    try:
        decisions.record(kind, now, decision_of(report))
    except NodepoolError as err:
        log.warning("%s decision not recorded: %s", kind, err.code)
