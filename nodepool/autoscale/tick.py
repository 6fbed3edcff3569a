"""One autoscale tick: load the state → observe → decide (pure) → claim → act → save.

Decisions, and why:
- Nothing is done on a partial or throttled picture (decide returns a blocked plan).
- The planned state is saved *before* acting, with the ETag it was read with (as reconcile
  does): a lost race means another runner ticked meanwhile, and this tick acts on nothing.
- A capacity error on a scale-up backs that pool off and decides again at once, within the
  same tick and on the same observation, so the demand moves to the next pool now, not in
  15 minutes. Pools already written this tick are not written twice.
- What acting changed (backoffs, scale-downs that did not start, instances deleted) is
  saved at the end, with the ETag of the claim.
- DRY_RUN writes nothing, the state included: every dry tick logs what a live one would do.
  So that unneeded times and backoffs still accumulate, a dry-run autoscaler keeps its state
  in memory (DryRunMemory, one per worker) and reads the store only the first time.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime

from nodepool.autoscale.apply import Executor
from nodepool.autoscale.backoff import back_off
from nodepool.autoscale.decide import Plan, decide
from nodepool.autoscale.model import AutoscaleState, Policy
from nodepool.autoscale.observe import observe
from nodepool.autoscale.ports import AutoscalePorts
from nodepool.core.errors import Conflict, NodepoolError
from nodepool.core.instruments import NULL, Instruments, bugs_counted
from nodepool.core.logs import logger
from nodepool.status.decisions import DecisionLog, ticked

log = logger(__name__)


@dataclass(frozen=True)
class AutoscaleReport:
    planned: dict[str, int] = field(default_factory=dict)
    applied: int = 0
    failed: int = 0
    backed_off: dict[str, str] = field(default_factory=dict)  # pool -> capacity error met this tick
    notes: tuple[str, ...] = ()
    unplaced: tuple[str, ...] = ()  # "ns/pod: why" for pods no pool can take now
    blocked: str | None = None
    state: str = "unchanged"  # unchanged | saved | lost race | not saved | not loaded | dry run
    dry_run: bool = False

    def line(self) -> str:
        planned = ", ".join(f"{k} {v}" for k, v in sorted(self.planned.items())) or "nothing"
        text = (f"autoscale tick{' (dry run)' if self.dry_run else ''}: planned {planned}; applied {self.applied}, "
                f"failed {self.failed}; state {self.state}")
        extra = [f"backed off {p} ({c})" for p, c in self.backed_off.items()] + list(self.notes)
        return text + "".join(f"; {e}" for e in extra) + (f"; blocked: {self.blocked}" if self.blocked else "")

    def log_fields(self) -> dict:
        return {f"autoscale_{k}": v for k, v in asdict(self).items()}

    def reasons(self) -> list[str]:
        return [*self.notes, *self.unplaced, *(f"backed off {pool} ({code})" for pool, code in self.backed_off.items())]


@dataclass
class DryRunMemory:
    """A dry run saves nothing, so that unneeded times and backoffs still accumulate the autoscaler
    keeps the state a live tick would have saved here, across ticks (one per worker)."""
    state: AutoscaleState | None = None


class Autoscaler:
    def __init__(self, ports: AutoscalePorts, policy: Policy, dry_run: bool = False, logger: logging.Logger = log,
                 memory: DryRunMemory | None = None, decisions: DecisionLog | None = None,
                 telemetry: Instruments = NULL):
        self.ports, self.policy, self.dry_run, self.log = ports, policy, dry_run, logger
        self.memory = memory or DryRunMemory()
        self.decisions, self.telemetry = decisions, telemetry

    def tick(self, now: datetime) -> AutoscaleReport:
        with self.telemetry.span("autoscale.tick"), bugs_counted(self.telemetry, "autoscale.tick"):
            report = replace(self._tick(now), dry_run=self.dry_run)
        self.log.info(report.line(), extra=report.log_fields())
        ticked("autoscale", now, report, self.decisions, self.telemetry)
        return report

    def _tick(self, now: datetime) -> AutoscaleReport:
        try:
            remembered = self.memory.state if self.dry_run else None
            loaded, etag = (remembered, None) if remembered is not None else self.ports.store.load()
        except NodepoolError as err:
            return AutoscaleReport(state="not loaded", blocked=f"autoscale state unavailable: {err.message}")
        obs = observe(self.ports)
        plan = decide(obs, loaded, now, self.policy)
        if plan.blocked:
            return AutoscaleReport(blocked=plan.blocked)
        claimed = self._save(plan.state, loaded, etag)
        if claimed in ("lost race", "not saved"):
            return AutoscaleReport(planned=plan.counts(), state=claimed)
        actor, claimed_state = Executor(self.ports, self.dry_run, self.log, now), plan.state
        plan, state = self._scale_up(actor, plan, obs, loaded, now)
        for action in plan.failed:
            actor.delete_failed(action)
        for action in plan.finish:
            actor.finish(action)
        for action in plan.downs:
            actor.scale_down(action)
        for action in plan.abandon:
            actor.abandon(action)
        done = actor.outcome
        state = replace(state, draining={k: v for k, v in state.draining.items()
                                         if k not in done.deleted and k not in done.not_started})
        if self.dry_run:
            self.memory.state = state
        if claimed == "dry run" or state == claimed_state:
            saved = claimed
        else:
            saved = self._save(state, None, self._etag)
        return AutoscaleReport(plan.counts(), done.applied, done.failed, dict(done.capacity_errors), plan.notes,
                               tuple(f"{u.pod}: {u.reason}" for u in plan.unplaced), state=saved)

    def _scale_up(self, actor: Executor, plan: Plan, obs, loaded: AutoscaleState, now: datetime):
        written, handled, base = set(), set(), loaded
        while True:
            for up in plan.ups:
                if up.pool not in written:
                    written.add(up.pool)
                    actor.scale_up(up)
            new_errors = {p: c for p, c in actor.outcome.capacity_errors.items() if p not in handled}
            if not new_errors:
                return plan, plan.state
            for pool, code in new_errors.items():
                handled.add(pool)
                base = back_off(base, pool, code, now, self.policy, "capacity write refused")
            plan = decide(obs, base, now, self.policy)  # same tick: the demand moves to the next pool
            plan = replace(plan, ups=tuple(u for u in plan.ups if u.pool not in written))

    def _save(self, state: AutoscaleState, previous: AutoscaleState | None, etag: str | None) -> str:
        """Save unless unchanged since `previous` (None: always); remembers the ETag for the next save."""
        self._etag = etag
        if self.dry_run:
            return "dry run"
        if state == previous:
            return "unchanged"
        try:
            self._etag = self.ports.store.save(state, etag)
            return "saved"
        except Conflict:
            return "lost race"
        except NodepoolError as err:
            self.log.warning("autoscale state not saved: %s", err.message, extra={"error": err.code})
            return "not saved"
