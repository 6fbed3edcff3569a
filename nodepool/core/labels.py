"""Agent labels and taints: what every agent Node should carry, and the smallest change that gets it there.

kubelet may not label itself `node-role.kubernetes.io/*` (NodeRestriction), so the control
plane sets the role; the instance id and the spot label tie a Node to its VM. Settings add
labels (`key=value`) and taints (`key=value:Effect`, `key:Effect`, or `key=value` for NoSchedule).
Taints are owned by key: only keys the policy names are added, replaced or removed.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from nodepool.core.model import Instance, Node, Taint

WORKER_LABEL = "node-role.kubernetes.io/worker"
MASTER_LABELS = ("node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane")
SPOT_LABEL = "kubernetes.azure.com/scalesetpriority"
INSTANCE_ID_LABEL = "nodepool/instance-id"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_VALUE = re.compile(rf"^({_NAME})?$")
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_NAME}$")


def _check(key: str, value: str, what: str) -> None:
    if not _KEY.match(key) or len(key.rpartition("/")[2]) > 63:
        raise ValueError(f"{what} key {key!r} is not a Kubernetes qualified name")
    if not _VALUE.match(value):
        raise ValueError(f"{what} value {value!r} of {key!r} is not a valid label value")


def parse_labels(items: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """`key=value` items (from NODEPOOL_NODE_LABELS) → validated pairs."""
    pairs = []
    for item in items:
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise ValueError(f"label {item!r} must be key=value")
        _check(key, value, "label")
        pairs.append((key, value))
    return tuple(pairs)


def parse_taints(items: Iterable[str]) -> tuple[Taint, ...]:
    """`key=value:Effect`, `key:Effect` or `key=value` (NoSchedule) items → validated taints."""
    taints = []
    for item in items:
        spec, colon, effect = item.strip().rpartition(":")
        if not colon:
            spec, effect = item.strip(), "NoSchedule"
        if effect not in EFFECTS:
            raise ValueError(f"taint {item!r}: effect must be one of {', '.join(EFFECTS)}")
        key, _, value = spec.partition("=")
        _check(key, value, "taint")
        taints.append(Taint(key, value, effect))
    return tuple(taints)


def is_master(node: Node) -> bool:
    return any(label in node.labels for label in MASTER_LABELS)


def desired_labels(instance: Instance, extra: Iterable[tuple[str, str]] = (),
                   instance_id_label: str = INSTANCE_ID_LABEL) -> dict[str, str | None]:
    """Labels an agent Node must carry (None: must not carry)."""
    desired: dict[str, str | None] = {
        WORKER_LABEL: "true",
        instance_id_label: instance.instance_id,
        SPOT_LABEL: "spot" if instance.spot else None,
    }
    desired.update(extra)
    return desired


def label_changes(current: Mapping[str, str], desired: Mapping[str, str | None]) -> dict[str, str | None]:
    """The label patch (None removes) that turns `current` into `desired`; empty when converged."""
    changes = {}
    for key, value in desired.items():
        if current.get(key) != value and (value is not None or key in current):
            changes[key] = value
    return changes


def taints_for(current: Sequence[Taint], desired: Sequence[Taint],
               remove_keys: Iterable[str] = ()) -> tuple[Taint, ...] | None:
    """The node's full taint list after applying the policy, or None when nothing changes.

    Taints whose key the policy does not own (node.kubernetes.io/*, other controllers',
    an operator's) are kept as they are.
    """
    owned = {t.key for t in desired} | set(remove_keys)
    kept = [t for t in current if t.key not in owned]
    wanted = (*kept, *dict.fromkeys(desired))
    if set(wanted) == set(current) and len(wanted) == len(current):
        return None
    return wanted
