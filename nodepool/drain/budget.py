"""How a drain spends the notice it has: the cutoff, each pod's grace period, which pods to evict now.

Pure: `now` is a parameter, nothing here talks to Kubernetes. The drain (nodepool/drain/service.py)
asks for a `DrainBudget` once per pass and a `plan_pass` for the pods still on the Node.

- The deadline is when the VM may go: NotBefore, or earlier when the agent said it acknowledges
  sooner (`ack_by`). The cutoff keeps a reserve before it for the last steps (Node and secret
  deletes, the registry write): a tenth of the time left, between MIN_RESERVE_S and MAX_RESERVE_S,
  instead of a fixed 5 s that would leave nothing of an 8 s notice.
- A pod's grace period is its own, shortened to the whole seconds left until the deadline (the
  kubelet sends SIGTERM at once; the VM, not the API server, ends the grace), never below 1 s:
  0 would skip SIGTERM.
- Pods outside any PDB are evicted all at once; a PDB lets through as many as it has room for
  (`disruptionsAllowed`); a pod under a PDB whose room is unknown goes one at a time, and one under
  several PDBs only when all have room (the API server refuses it otherwise). Longer grace first.
- Past the cutoff, or with nothing left to evict, the pass says `finish_now`: the Node stays
  cordoned and, for an event that takes the VM away (domain.events.NODE_REMOVING_TYPES), is
  deleted at once, so the scheduler moves the pods left now instead of after the VM is gone. A
  drain that starts past its deadline does the same on its first pass, without evicting.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Mapping

RESERVE_FRACTION = 0.1
MIN_RESERVE_S = 0.75
MAX_RESERVE_S = 5.0
DEFAULT_GRACE_S = 30  # Kubernetes' terminationGracePeriodSeconds default
UNKNOWN_ROOM = 1  # a PDB we have no status for: one pod at a time, and let the API server decide


@dataclass(frozen=True)
class DrainPod:
    namespace: str
    name: str
    grace_s: int | None = None  # the pod's terminationGracePeriodSeconds; None: the default
    pdbs: tuple[str, ...] = ()  # "namespace/name" of every PDB whose selector matches the pod


@dataclass(frozen=True)
class DrainBudget:
    now: datetime
    deadline: datetime  # when the VM may go
    cutoff: datetime  # stop evicting here: the reserve after it finishes the drain by the deadline

    @property
    def expired(self) -> bool:
        return self.now >= self.cutoff

    @property
    def seconds_left(self) -> float:
        return max(0.0, (self.deadline - self.now).total_seconds())

    def grace_for(self, pod: DrainPod) -> int:
        own = DEFAULT_GRACE_S if pod.grace_s is None else max(0, pod.grace_s)
        return max(1, min(own, math.floor(self.seconds_left)))


@dataclass(frozen=True)
class DrainPass:
    evict: tuple[tuple[DrainPod, int], ...] = ()  # (pod, grace seconds), all at once
    held: tuple[DrainPod, ...] = ()  # their PDB has no room now: the next pass tries again
    finish_now: bool = False  # out of time or nothing left: stop evicting and finish (see below)


def reserve_s(left_s: float, max_reserve_s: float = MAX_RESERVE_S) -> float:
    return min(max(MIN_RESERVE_S, max_reserve_s), max(MIN_RESERVE_S, RESERVE_FRACTION * max(0.0, left_s)))


def budget(now: datetime, not_before: datetime, ack_by: datetime | None = None,
           max_reserve_s: float = MAX_RESERVE_S) -> DrainBudget:
    """The budget of a drain at `now`, from the notice actually left (`max_reserve_s`: the
    operator's NODEPOOL_DRAIN_MARGIN caps the reserve)."""
    if now.tzinfo is None or not_before.tzinfo is None or (ack_by is not None and ack_by.tzinfo is None):
        raise ValueError("drain times must carry a time zone")
    deadline = not_before if ack_by is None else min(not_before, ack_by)
    left = (deadline - now).total_seconds()
    return DrainBudget(now, deadline, deadline - timedelta(seconds=reserve_s(left, max_reserve_s)))


def plan_pass(plan: DrainBudget, pods: Iterable[DrainPod], room: Mapping[str, int]) -> DrainPass:
    """What one pass does with the evictable pods still on the Node. `room`: disruptionsAllowed
    by PDB ("namespace/name"), as the PDBs' status says now."""
    pods = list(pods)
    if plan.expired or not pods:
        return DrainPass(held=tuple(pods), finish_now=True)
    left = dict(room)
    evict, held = [], []
    for pod in sorted(pods, key=lambda p: (-(DEFAULT_GRACE_S if p.grace_s is None else p.grace_s),
                                           p.namespace, p.name)):
        if all(left.get(pdb, UNKNOWN_ROOM) > 0 for pdb in pod.pdbs):
            for pdb in pod.pdbs:
                left[pdb] = left.get(pdb, UNKNOWN_ROOM) - 1
            evict.append((pod, plan.grace_for(pod)))
        else:
            held.append(pod)
    return DrainPass(tuple(evict), tuple(held))
