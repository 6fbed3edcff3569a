"""Capacity errors: which ones back a pool off, for how long, and when a pool comes back.

Azure reports "no capacity" in two ways: the capacity write fails at once (SkuNotAvailable,
OperationNotAllowed for quota), or it is accepted and the instances then end in provisioning
state Failed (AllocationFailed, ZonalAllocationFailed, OverconstrainedAllocationRequest) or
never leave Creating. Either way the pool is backed off for a TTL that depends on the kind,
as Karpenter's insufficient-capacity cache does (SKU not available on spot 1 h, allocation
failures 1 h, low quota 10 min): every TTL is a Policy field.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from nodepool.autoscale.model import AutoscaleState, Backoff, Observation, Policy, PoolView

SKU_NOT_AVAILABLE = "SkuNotAvailable"
ALLOCATION_FAILED = ("AllocationFailed", "ZonalAllocationFailed", "OverconstrainedAllocationRequest",
                     "OverconstrainedZonalAllocationRequest")
LOW_QUOTA = ("OperationNotAllowed", "QuotaExceeded", "LowPriorityQuotaExceeded", "SpotQuotaExceeded")
PROVISIONING_FAILED = "ProvisioningFailed"
PROVISIONING_TIMEOUT = "ProvisioningTimeout"
CAPACITY_CODES = (SKU_NOT_AVAILABLE, *ALLOCATION_FAILED, *LOW_QUOTA, PROVISIONING_FAILED, PROVISIONING_TIMEOUT)


def is_capacity_error(code: str) -> bool:
    return code in CAPACITY_CODES


def ttl(kind: str, policy: Policy):
    if kind == SKU_NOT_AVAILABLE:
        return policy.backoff_sku_not_available
    if kind in ALLOCATION_FAILED or kind in (PROVISIONING_FAILED, PROVISIONING_TIMEOUT):
        return policy.backoff_allocation_failed
    if kind in LOW_QUOTA:
        return policy.backoff_low_quota
    return policy.backoff_other


def back_off(state: AutoscaleState, pool: str, kind: str, now: datetime, policy: Policy,
             detail: str = "") -> AutoscaleState:
    until = now + ttl(kind, policy)
    reason = f"pool {pool}: {kind}{': ' + detail if detail else ''}; backed off until {until.isoformat()}"
    return replace(state, backoffs={**state.backoffs, pool: Backoff(kind, until, reason)})


def expire(state: AutoscaleState, now: datetime) -> tuple[AutoscaleState, list[str]]:
    """Drop ended backoffs; the pools that came back this tick."""
    ended = [name for name, b in state.backoffs.items() if b.until <= now]
    if not ended:
        return state, []
    return replace(state, backoffs={k: v for k, v in state.backoffs.items() if k not in ended}), ended


def backed_off(state: AutoscaleState, pool: str, now: datetime) -> bool:
    b = state.backoffs.get(pool)
    return b is not None and b.until > now


@dataclass(frozen=True)
class StuckInstances:
    pool: str
    kind: str
    instance_ids: tuple[str, ...]  # the ones to delete (not protected)
    reason: str
    count: int  # all of them, protected included: none of them is capacity


def creating_key(pool: str, instance_id: str) -> str:
    return f"{pool}/{instance_id}"


def creating_since(obs: Observation, state: AutoscaleState, now: datetime) -> dict[str, datetime]:
    """Every instance in Creating, since when we first saw it so, on our clock: its timeCreated is ARM's
    clock, which may run ahead of ours or behind (nodepool/core/skew.py); it can only start that later."""
    out = {}
    for pv in obs.pools:
        for i in pv.instances.items:
            if i.provisioning_state == "Creating":
                key = creating_key(pv.pool.name, i.instance_id)
                out[key] = state.creating.get(key) or max(i.created_at or now, now)
    return out


def stuck(view: PoolView, now: datetime, policy: Policy, creating: Mapping[str, datetime]) -> StuckInstances | None:
    """Instances that failed to provision, or sat in Creating past the timeout since we first saw them
    so (`creating`): no capacity there. Protected ones still back the pool off, but are not offered
    for deletion."""
    failed = [i for i in view.instances.items if i.provisioning_state == "Failed"]
    late = [i for i in view.instances.items if i.provisioning_state == "Creating"
            and now - creating.get(creating_key(view.pool.name, i.instance_id), now) > policy.provisioning_timeout]
    if not (failed or late):
        return None
    kind = PROVISIONING_FAILED if failed else PROVISIONING_TIMEOUT
    ids = tuple(i.instance_id for i in failed + late if not i.protected)
    return StuckInstances(view.pool.name, kind, ids,
                          f"pool {view.pool.name}: {len(failed)} instances Failed, {len(late)} stuck in Creating",
                          len(failed) + len(late))
