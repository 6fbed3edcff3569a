"""A control plane over in-memory fakes, for service tests: registry, kube, scale set, queue, clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from nodepool.domain.registry import ClusterInfo
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.services.caches import InstanceDirectory
from nodepool.services.cluster import RegisteredCluster
from nodepool.services.join import JoinPolicy, JoinService

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
CA_HASH = "c" * 64


class ManualClock:
    """`now()` and `sleep()` for code that waits: sleeping just moves time forward."""

    def __init__(self, start: datetime = NOW):
        self.current = start
        self.slept = 0.0

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.current += timedelta(seconds=seconds)


@dataclass
class Plane:
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    kube: FakeKube = field(default_factory=FakeKube)
    scaleset: FakeScaleSet = field(default_factory=lambda: FakeScaleSet(capacity=3))
    queue: FakeEventQueue = field(default_factory=FakeEventQueue)
    policy: JoinPolicy = field(default_factory=JoinPolicy)

    def __post_init__(self):
        self.instances = InstanceDirectory(self.scaleset)
        self.cluster = RegisteredCluster(self.registry, lambda cluster: self.kube)
        self.joins = JoinService(self.registry, self.instances, self.cluster, self.queue, self.policy)

    def register_master(self, now: datetime = NOW) -> ClusterInfo:
        cluster = ClusterInfo("https://10.0.0.4:6443", CA_HASH, "PEM", "v1.31.4+k3s1", now,
                              credential="sa-token", agent_token="K10agent::server:secret")
        self.registry.save_cluster(cluster)
        return cluster

    def hostnames(self) -> list[str]:
        return [i.name for i in self.scaleset.instances().items]
