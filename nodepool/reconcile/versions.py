"""Is this Node list older than one already seen? A cache in front of the API server (or a watch
cache after a restart) may answer with an older snapshot, where healed Nodes are NotReady again.

Kubernetes' rule (KEP-5504, stable in 1.35; client-go's `CompareResourceVersion`): a resourceVersion
is a positive decimal integer without leading zeros, and two of the same resource compare as
integers. etcd and kine hand out such revisions on older releases too; a value that is not one
compares with nothing here (it can only be equal), so it never proves a list stale.

The high-water marks (`Marks`, kept with the tick state) are the newest list's resourceVersion and,
per listed Node, the newest resourceVersion seen of it. A list is stale when its own version is
below the mark, or when one of its Nodes went back to an older version of itself. A stale list is
acted on not at all. Should the marks stay ahead for `policy.rebase_after` while the lists keep
moving forward (an etcd restored from a backup numbers from its snapshot), the lists are taken as
the new baseline, and the decision says so; a cache stuck on one snapshot never moves, so it never
gets there.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from nodepool.core.model import Node, Snapshot


def compare(a: str, b: str) -> int | None:
    """-1, 0, 1 as `a` is older, the same, newer than `b`; None when either is not comparable."""
    if not (_valid(a) and _valid(b)):
        return None
    return (len(a) > len(b)) - (len(a) < len(b)) or (a > b) - (a < b)


def _valid(version: str) -> bool:
    return version.isdecimal() and version.isascii() and version[0] != "0"


@dataclass(frozen=True)
class Marks:
    listed: str = ""  # the newest Node list's resourceVersion seen
    nodes: dict[str, str] = field(default_factory=dict)  # node -> newest resourceVersion seen (last list's Nodes)
    behind: tuple[datetime, str] | None = None  # lists behind the marks since, and the first such list's version

    def to_dict(self) -> dict:
        behind = [self.behind[0].isoformat(), self.behind[1]] if self.behind else None
        return {"listed": self.listed, "nodes": self.nodes, "behind": behind}

    @classmethod
    def from_dict(cls, data: dict | None) -> Marks:
        data = data or {}
        behind = data.get("behind")
        return cls(str(data.get("listed") or ""), {str(k): str(v) for k, v in (data.get("nodes") or {}).items()},
                   (datetime.fromisoformat(behind[0]), str(behind[1])) if behind else None)


@dataclass(frozen=True)
class Freshness:
    stale: str | None  # why the list is older than one already seen (then nothing is done)
    marks: Marks  # for the next state
    note: str | None = None  # the marks were rebased this tick, and why


def freshness(nodes: Snapshot[Node], marks: Marks, now: datetime, rebase_after: timedelta) -> Freshness:
    older = _older_list(nodes.version, marks.listed) or _went_back(nodes.items, marks.nodes)
    if older is None:
        return Freshness(None, _advanced(nodes, marks))
    since, first = marks.behind or (now, nodes.version)
    if now - since >= rebase_after and compare(nodes.version, first) == 1:
        return Freshness(None, _advanced(nodes, Marks()),
                         note=f"Node lists behind the marks since {since.isoformat()} and moving on ({first} -> "
                              f"{nodes.version}): taken as the new baseline (an etcd restored from a backup?)")
    return Freshness(f"Node list older than one already seen ({older}): acting on nothing",
                     replace(marks, behind=(since, first)))


def _older_list(version: str, mark: str) -> str | None:
    if compare(version, mark) == -1:
        return f"list resourceVersion {version} < {mark}"
    return None


def _went_back(nodes: tuple[Node, ...], seen: dict[str, str]) -> str | None:
    for node in nodes:
        old = seen.get(node.name)
        if old is not None and node.resource_version != old and compare(node.resource_version, old) == -1:
            return f"Node {node.name} at resourceVersion {node.resource_version}, seen at {old} before"
    return None


def _advanced(nodes: Snapshot[Node], marks: Marks) -> Marks:
    return Marks(nodes.version or marks.listed, {n.name: n.resource_version for n in nodes.items if n.resource_version})
