"""Join, leave and cluster registration: the use cases behind /api/join, /leave, /cluster."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Callable

from nodepool.domain.cluster import Registration
from nodepool.domain.join import (
    BOOTSTRAP_SECRET_TYPE,
    BootstrapToken,
    JoinRequest,
    bootstrap_secret_name,
    check_hostname,
    check_instance,
    join_response,
    node_password_secret,
    replaces_earlier,
)
from nodepool.domain.model import Caller, NodeState
from nodepool.domain.registry import ClusterInfo, JoinTokenRecord, NodeRecord
from nodepool.errors import Unavailable
from nodepool.ports import EventQueue, Kube, Registry
from nodepool.services.caches import ClusterCache, InstanceDirectory
from nodepool.services.nodes import for_event, update_node

KUBE_SYSTEM = "kube-system"
MASTER_RETRY_AFTER_S = 15


@dataclass(frozen=True)
class JoinPolicy:
    token_ttl_s: int = 900
    bootstrap_tokens: bool = True
    node_labels: tuple[str, ...] = ()
    node_taints: tuple[str, ...] = ()
    leave_deadline_s: int = 90


class JoinService:
    def __init__(self, registry: Registry, instances: InstanceDirectory, kube_for: Callable[[ClusterInfo], Kube],
                 queue: EventQueue, policy: JoinPolicy):
        self.registry = registry
        self.instances = instances
        self.kube_for = kube_for
        self.queue = queue
        self.policy = policy
        self.clusters = ClusterCache(registry)

    def _cluster(self, now: datetime) -> ClusterInfo:
        cluster = self.clusters.get(now)
        if cluster is None:
            raise Unavailable("the master has not registered yet", code="master_not_registered",
                              retry_after=MASTER_RETRY_AFTER_S)
        return cluster

    def register(self, caller: Caller, registration: Registration, now: datetime) -> dict:
        cluster = registration.to_cluster(now)
        self.registry.save_cluster(cluster)
        self.clusters.put(cluster, now)
        return {"server": cluster.server, "k3s_version": cluster.k3s_version,
                "registered_at": now.isoformat()}

    def join(self, caller: Caller, request: JoinRequest, now: datetime) -> dict:
        cluster = self._cluster(now)
        instance = check_instance(request, self.instances.lookup(request.hostname, now, request.vm_id))
        kube = self.kube_for(cluster)
        row = self.registry.node(request.hostname)
        if replaces_earlier(row, request, instance):  # both deletes are no-ops when nothing is there
            kube.delete_node(request.hostname)
            kube.delete_secret(KUBE_SYSTEM, node_password_secret(request.hostname))
        token_id, token, expires = "", cluster.agent_token, None
        if self.policy.bootstrap_tokens:
            minted = BootstrapToken.mint(now, self.policy.token_ttl_s)
            # Record first, then create: the cleanup timer can always find what we created.
            self.registry.add_join_token(JoinTokenRecord(minted.token_id, request.hostname,
                                                         instance.instance_id, now, minted.expires_at))
            kube.create_secret(KUBE_SYSTEM, bootstrap_secret_name(minted.token_id), type=BOOTSTRAP_SECRET_TYPE,
                               string_data=minted.secret_data(request.hostname))
            token_id, token, expires = minted.token_id, minted.k3s_token(cluster.ca_hash), minted.expires_at
        elif not token:
            raise Unavailable("bootstrap tokens are off and the master registered no agent token",
                              code="no_agent_token", retry_after=MASTER_RETRY_AFTER_S)

        def joining(current: NodeRecord | None) -> NodeRecord:
            base = current or NodeRecord(name=request.hostname, state=NodeState.JOINING)
            return replace(base, state=NodeState.JOINING, instance_id=instance.instance_id,
                           vm_id=request.vm_id or instance.vm_id.lower(), token_id=token_id,
                           joined_at=now, updated_at=now, note="")

        update_node(self.registry, request.hostname, joining, current=row)
        return join_response(cluster.server, token, cluster.ca_hash, cluster.k3s_version,
                             self.node_labels(instance), self.policy.node_taints, expires)

    def node_labels(self, instance) -> list[str]:
        spot = ["kubernetes.azure.com/scalesetpriority=spot"] if instance.spot else []
        return [*self.policy.node_labels, *spot]

    def leave(self, caller: Caller, hostname: str, now: datetime) -> dict:
        """Cordon, enqueue the drain, then mark the row: a failure before the mark is retried whole."""
        cluster = self._cluster(now)
        check_instance(JoinRequest(check_hostname(hostname)), self.instances.lookup(hostname, now))
        row = self.registry.node(hostname)
        event_id = f"leave-{row.token_id if row and row.token_id else hostname}"
        deadline = now + timedelta(seconds=self.policy.leave_deadline_s)
        kube = self.kube_for(cluster)
        if kube.node(hostname) is not None:
            kube.patch_node(hostname, unschedulable=True)
        self.queue.send({"node": hostname, "event_id": event_id, "type": "Leave",
                         "not_before": now.isoformat(), "deadline": deadline.isoformat()})

        def left(current: NodeRecord | None) -> NodeRecord:
            base = current or NodeRecord(name=hostname, state=NodeState.LEFT)
            return replace(for_event(base, event_id, "Leave", deadline, now), state=NodeState.LEFT)

        update_node(self.registry, hostname, left, current=row)
        return {"node": hostname, "event_id": event_id, "deadline": deadline.isoformat()}
