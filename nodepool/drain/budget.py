"""How a drain spends the notice it has: the cutoff, each pod's grace period, which pods to evict now.

Pure: `now` is a parameter, nothing here talks to Kubernetes. The drain (nodepool/drain/evict.py)
asks for a `DrainBudget` once per pass and a `plan_pass` for the pods still on the Node.

- The deadline is NotBefore: Azure may take the VM then, and not before (the agent acknowledges
  only a drain that is done, never to "give time back"). The cutoff keeps a reserve before it for
  the last steps (Node and secret deletes, the registry write): a tenth of the time left, between
  MIN_RESERVE_S and MAX_RESERVE_S, instead of a fixed 5 s that would leave nothing of an 8 s notice.
- A drain is done when the evicted pods are gone, not when they are Terminating (`kubectl drain`
  waits for the deletions too): a Node deleted with pods still on it orphans them, and the pod GC
  force-deletes them while their containers may still run. So a pod's grace period is its own,
  shortened to the whole seconds left until the cutoff, never below 1 s (0 would skip SIGTERM):
  its kubelet kills it by then and it leaves the API before the VM goes.
- Pods outside any PDB are evicted all at once; a PDB lets through as many as it has room for
  (`disruptionsAllowed`); a pod under a PDB whose room is unknown goes one at a time, and one under
  several PDBs only when all have room (the API server refuses it otherwise). Longer grace first.
- Past the cutoff, or with no pod left at all (none to evict, none Terminating), the pass says
  `finish_now`. A drain that starts past its deadline does the same on its first pass.
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

    def grace_for(self, pod: DrainPod) -> int:
        """The pod's own grace period, cut so that it is gone by the cutoff."""
        own = DEFAULT_GRACE_S if pod.grace_s is None else max(0, pod.grace_s)
        return max(1, min(own, math.floor((self.cutoff - self.now).total_seconds())))


@dataclass(frozen=True)
class DrainPass:
    evict: tuple[tuple[DrainPod, int], ...] = ()  # (pod, grace seconds), all at once
    held: tuple[DrainPod, ...] = ()  # their PDB has no room now: the next pass tries again
    finish_now: bool = False  # out of time, or no pod left at all: stop and finish


def reserve_s(left_s: float, max_reserve_s: float = MAX_RESERVE_S) -> float:
    return min(max(MIN_RESERVE_S, max_reserve_s), max(MIN_RESERVE_S, RESERVE_FRACTION * max(0.0, left_s)))


def budget(now: datetime, deadline: datetime, max_reserve_s: float = MAX_RESERVE_S) -> DrainBudget:
    """The budget of a drain at `now`, from the notice actually left (`max_reserve_s`: the
    operator's NODEPOOL_DRAIN_MARGIN caps the reserve)."""
    if now.tzinfo is None or deadline.tzinfo is None:
        raise ValueError("drain times must carry a time zone")
    left = (deadline - now).total_seconds()
    return DrainBudget(now, deadline, deadline - timedelta(seconds=reserve_s(left, max_reserve_s)))


def plan_pass(plan: DrainBudget, pods: Iterable[DrainPod], room: Mapping[str, int], terminating: int = 0) -> DrainPass:
    """What one pass does with the evictable pods still on the Node (`pods`: not evicted yet;
    `terminating`: how many evicted ones are still on their way out). `room`: disruptionsAllowed
    by PDB ("namespace/name"), as the PDBs' status says now."""
    pods = list(pods)
    if plan.expired or not (pods or terminating):
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
