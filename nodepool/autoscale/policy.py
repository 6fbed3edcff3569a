"""NODEPOOL_AUTOSCALE_POOLS (a JSON list) → pools and their scale sets; settings → Policy. Pure.

One pool per agent scale set:
    [{"name": "spot", "scale_set": "agents-spot", "priority": "spot", "vm_size": "Standard_D4s_v5",
      "cpu": "3860m", "memory": "13Gi", "gpu": 0, "min": 0, "max": 20, "preference": 0,
      "labels": {"tier": "batch"}, "taints": ["spot=true:NoSchedule"]}, ...]
cpu/memory/gpu are one node's *allocatable* (what the kubelet reports, after system
reservations), not the VM size's nominal figures: packing against more than the node has
would leave pods Pending on a brand-new node. `scale_set` defaults to the name. Errors are
ValueErrors naming the pool and the field; names, sizes and labels are no secrets.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from nodepool.autoscale.model import Policy, Pool, Priority, Resources
from nodepool.core.labels import parse_labels, parse_taints
from nodepool.core.quantity import quantity

FIELDS = {"name", "scale_set", "priority", "vm_size", "cpu", "memory", "gpu", "min", "max", "preference",
          "labels", "taints"}


@dataclass(frozen=True)
class PoolSetting:
    pool: Pool
    scale_set: str


def _count(item: dict, key: str, default: int) -> int:
    value = item.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{key} must be a whole number >= 0")
    return value


def _pool(item) -> PoolSetting:
    if not isinstance(item, dict):
        raise ValueError("each pool must be a JSON object")
    unknown = set(item) - FIELDS
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("name is required")
    try:
        priority = Priority(str(item.get("priority", "spot")).lower())
        shape = Resources(round(quantity(str(item["cpu"])) * 1000), round(quantity(str(item["memory"]))),
                          _count(item, "gpu", 0))
        labels = item.get("labels") or {}
        labels = [f"{k}={v}" for k, v in labels.items()] if isinstance(labels, dict) else list(labels)
        pool = Pool(name, priority, str(item.get("vm_size") or ""), shape, _count(item, "min", 0),
                    _count(item, "max", 10), _count(item, "preference", 0), parse_labels(labels),
                    parse_taints(list(item.get("taints") or ())))
    except KeyError as err:
        raise ValueError(f"pool {name}: {err.args[0]} is required") from None
    except (ValueError, TypeError) as err:
        raise ValueError(f"pool {name}: {err}") from None
    if not pool.vm_size or pool.shape.cpu_m <= 0 or pool.shape.memory_b <= 0:
        raise ValueError(f"pool {name}: vm_size, and cpu and memory above 0, are required")
    if pool.min > pool.max:
        raise ValueError(f"pool {name}: min {pool.min} is above max {pool.max}")
    return PoolSetting(pool, str(item.get("scale_set") or name))


def parse_pools(raw: str) -> tuple[PoolSetting, ...]:
    try:
        items = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON ({err.msg})") from None
    if not isinstance(items, list) or not items:
        raise ValueError("must be a non-empty JSON list of pools")
    pools = tuple(_pool(item) for item in items)
    for key in ("name", "scale_set"):
        values = [p.pool.name if key == "name" else p.scale_set.lower() for p in pools]
        if len(set(values)) != len(values):
            raise ValueError(f"two pools have the same {key}")
    return pools


def policy_from_settings(settings) -> Policy:
    return Policy(utilization_threshold=settings.autoscale_utilization_threshold,
                  unneeded_time=timedelta(seconds=settings.autoscale_unneeded_time_s),
                  delay_after_scale_up=timedelta(seconds=settings.autoscale_delay_after_scale_up_s),
                  max_step=settings.autoscale_max_step, headroom_nodes=settings.autoscale_headroom_nodes,
                  provisioning_timeout=timedelta(seconds=settings.provisioning_timeout_s))
