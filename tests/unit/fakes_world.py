"""A control plane over in-memory fakes, for service tests: registry, kube, scale set, queue, clock."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from nodepool.core.cluster import RegisteredCluster
from nodepool.core.model import Caller, Role
from nodepool.core.records import ClusterInfo
from nodepool.core.trail import AuditTrail
from nodepool.drain.events import EventsService
from nodepool.fakes.attest import FakeAttestationVerifier, FakeNodeCredentials, FakeNonceStore
from nodepool.fakes.audit import FakeAuditLog
from nodepool.fakes.clock import ManualClock as FakeClock
from nodepool.fakes.event_queue import FakeEventQueue
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.identity.attested import AttestedJoin
from nodepool.identity.guard import NodeClaim, NodeGuard
from nodepool.identity.instances import InstanceDirectory
from nodepool.join.request import JoinRequest
from nodepool.join.service import JoinPolicy, JoinService

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
CA_HASH = "c" * 64
AGENT = Caller(Role.AGENT, "agent-principal")


class ManualClock(FakeClock):
    """The fake clock, at NOW unless told otherwise: sleeping just moves time forward."""

    def __init__(self, start: datetime = NOW):
        super().__init__(start)


@dataclass
class Plane:
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    kube: FakeKube = field(default_factory=FakeKube)
    scaleset: FakeScaleSet = field(default_factory=lambda: FakeScaleSet(capacity=3))
    queue: FakeEventQueue = field(default_factory=FakeEventQueue)
    policy: JoinPolicy = field(default_factory=JoinPolicy)
    pools: tuple[FakeScaleSet, ...] = ()  # the autoscale pools' other scale sets, in the same directory

    def __post_init__(self):
        self.instances = InstanceDirectory([self.scaleset, *self.pools])
        self.cluster = RegisteredCluster(self.registry, lambda cluster: self.kube)
        self.credentials, self.audit_log = FakeNodeCredentials(), FakeAuditLog()
        self.attest = AttestedJoin(FakeAttestationVerifier(), FakeNonceStore(), self.credentials)
        self.guard, self.trail = NodeGuard(self.credentials), AuditTrail(self.audit_log)
        self.joins = JoinService(self.registry, self.instances, self.cluster, self.policy, self.attest, self.guard,
                                 self.trail)
        self.events = EventsService(self.registry, self.cluster, self.queue, self.instances, self.guard, self.trail)
        self.secrets: dict[str, str] = {}  # hostname -> the node credential its last join returned

    def attested(self, host: str, now: datetime = NOW, *, vm: str | None = None, **fields) -> JoinRequest:
        """A join request as `host`'s agent sends it: a nonce for `host`, a document naming `vm`
        (default: the vmId of the instance called `host`)."""
        nonce = self.joins.nonce(AGENT, host, now)["nonce"]
        vm_id = vm or next(i.vm_id for s in (self.scaleset, *self.pools) for i in s.instances().items if i.name == host)
        return JoinRequest(host, attested=FakeAttestationVerifier.document(vm_id, nonce, now), **fields)

    def join(self, host: str, now: datetime = NOW, **fields) -> dict:
        answer = self.joins.join(AGENT, self.attested(host, now, **fields), now)
        self.secrets[host] = answer["node_credential"]
        return answer

    def claim(self, host: str, credential: str | None = None) -> NodeClaim:
        return NodeClaim(AGENT, credential or self.secrets.get(host))

    def register_master(self, now: datetime = NOW) -> ClusterInfo:
        cluster = ClusterInfo("https://10.0.0.4:6443", CA_HASH, "PEM", "v1.31.4+k3s1", now,
                              credential="sa-token", agent_token="K10agent::server:secret")
        self.registry.save_cluster(cluster)
        return cluster

    def hostnames(self) -> list[str]:
        return [i.name for i in self.scaleset.instances().items]
