"""One reconcile tick: load the state → observe → plan (pure) → save the state → act → one log line.

Decisions, and why:
- The state is saved *before* acting, with the ETag it was read with. A lost race means
  another instance ticked meanwhile: this tick then acts on nothing (its plan rests on a stale
  state). A ladder step is thus recorded before it runs, so a crash mid-tick escalates the
  ladder next time rather than repeating the step (as reconcile_repair intends).
- The state is written only when it changed: a converged cluster makes zero writes. Every
  ladder step changes it, so VM restarts, reimages and deletes always pass the ETag gate;
  what may run without it (labels, ghost Node deletes, row writes with their own ETags) is
  idempotent.
- DRY_RUN writes nothing at all, the state included: it logs what it would do, and ladders
  do not advance, so every dry tick shows the next step a live tick would take (and poison
  is reported every dry tick: a log line is not a write).
- A state we cannot load (storage down) skips the tick. (A row that is not a TickState loads
  as a lost one, see adapters/tickstate.py: its baselines are unknown, never taken as empty.)
- Ghost Nodes and stale rows need ARM's word that the VM is gone, and a never-joined VM needs
  Kubernetes' word that its Node does not exist: the plan names the instances and Nodes to GET
  (`probe`, `probe_nodes`), and the tick plans once more with the answers. Reads only, so in a
  dry run too.
- Every scale set the app manages is reconciled in the same tick (reconcile/pools.py), each with
  its own state in the one row; each pool's actions are applied against its own scale set.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from nodepool.core.clock import SYSTEM, Clock
from nodepool.core.errors import Conflict, NodepoolError
from nodepool.core.instruments import NULL, Instruments, bugs_counted
from nodepool.core.logs import logger
from nodepool.core.ports import ScaleSet
from nodepool.reconcile.apply import Applied, apply
from nodepool.reconcile.model import ReconcileState
from nodepool.reconcile.observe import observe, probe
from nodepool.reconcile.plan import Observation, Plan, Policy
from nodepool.reconcile.pools import plan_pools
from nodepool.reconcile.ports import ReconcilePorts
from nodepool.status.decisions import DecisionLog, ticked

log = logger(__name__)


@dataclass(frozen=True)
class TickReport:
    planned: dict[str, int] = field(default_factory=dict)  # actions per kind
    applied: int = 0
    failed: int = 0
    retry: int = 0
    blocked: str | None = None  # why nothing, or nothing destructive, was done
    held: int = 0  # destructive actions withheld (outage, per-tick limit)
    state: str = "unchanged"  # unchanged | saved | lost race | not saved | not loaded | dry run
    dry_run: bool = False
    seconds: float = 0.0
    notes: tuple[str, ...] = ()  # what the operator should know although nothing was refused

    def line(self) -> str:
        planned = ", ".join(f"{k} {v}" for k, v in sorted(self.planned.items())) or "nothing"
        text = (f"reconcile tick{' (dry run)' if self.dry_run else ''}: planned {planned}; applied {self.applied}, "
                f"failed {self.failed}, retry {self.retry}, held {self.held}; state {self.state}; "
                f"{self.seconds:.3f} s")
        return text + "".join(f"; {n}" for n in self.notes) + (f"; blocked: {self.blocked}" if self.blocked else "")

    def log_fields(self) -> dict:
        return {f"reconcile_{k}": v for k, v in asdict(self).items()}

    def reasons(self) -> list[str]:
        return list(self.notes)  # the line says the rest: planned, blocked, held

    @property
    def backed_off(self) -> dict[str, str]:
        return {}  # reconcile backs no pool off: that is the autoscaler's


class Reconciler:
    def __init__(self, ports: ReconcilePorts, policy: Policy, dry_run: bool = False,
                 logger: logging.Logger = log, clock: Clock = SYSTEM, decisions: DecisionLog | None = None,
                 telemetry: Instruments = NULL):
        self.ports, self.policy, self.dry_run, self.log, self.clock = ports, policy, dry_run, logger, clock
        self.decisions, self.telemetry = decisions, telemetry

    def tick(self, now: datetime) -> TickReport:
        started = self.clock.monotonic()
        with self.telemetry.span("reconcile.tick"), bugs_counted(self.telemetry, "reconcile.tick"):
            report = self._tick(now)
        report = replace(report, dry_run=self.dry_run, seconds=self.clock.monotonic() - started)
        self.log.info(report.line(), extra=report.log_fields())
        ticked("reconcile", now, report, self.decisions, self.telemetry)
        return report

    def _tick(self, now: datetime) -> TickReport:
        try:
            state, etag = self.ports.store.load()
        except NodepoolError as err:
            return TickReport(state="not loaded", blocked=f"reconcile state unavailable: {err.message}")
        pools = observe(self.ports, state, now, self.policy)
        result = plan_pools(pools, state, now, self.policy)
        if result.probing:  # what a listing lacked: a GET of each is the evidence
            sets = {s.name: s for s in self.ports.scalesets}
            pools = {name: self._probed(obs, result.pools[name], sets[name]) for name, obs in pools.items()}
            result = plan_pools(pools, state, now, self.policy)
        planned = TickReport(planned=result.counts(), blocked=result.why(), held=result.held, notes=result.notes)
        saved = "dry run" if self.dry_run else self._save(result.state, state, etag)
        if saved in ("lost race", "not saved"):
            return replace(planned, state=saved, retry=sum(len(p.actions) for p in result.pools.values()))
        done = Applied()
        for scaleset in self.ports.scalesets:
            if scaleset.name in result.pools:
                done += apply(result.pools[scaleset.name].actions, replace(self.ports, scaleset=scaleset), now,
                              self.dry_run, self.log)
        return replace(planned, applied=done.applied, failed=done.failed, retry=done.retry, state=saved)

    def _probed(self, obs: Observation, planned: Plan, scaleset: ScaleSet) -> Observation:
        nodes = probe(self.ports.kube.node, planned.probe_nodes) if self.ports.kube else {}
        return replace(obs, probed=probe(scaleset.get_instance, planned.probe), nodes_probed=nodes)

    def _save(self, new: ReconcileState, old: ReconcileState, etag: str | None) -> str:
        if new == old:
            return "unchanged"
        try:
            self.ports.store.save(new, etag)
        except Conflict:
            self.log.warning("reconcile state changed since it was read: another instance ticked; acting on nothing")
            return "lost race"
        except NodepoolError as err:
            self.log.warning("reconcile state not saved (%s): acting on nothing; retry next tick", err.message)
            return "not saved"
        return "saved"
