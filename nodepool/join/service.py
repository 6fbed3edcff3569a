"""Join and cluster registration: the use cases behind /api/join/nonce, /api/join and /api/cluster.

A join is attested (identity/attested.py): the document proves which VM is asking, and only
the scale-set instance whose computer name is the hostname may join as it. The answer carries a
new node credential, which leave, events and the status polls must present from then on.
Leave (a node's own departure) is a drain like a scheduled event's: nodepool/drain/events.py.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from nodepool.core import audit
from nodepool.core.audit import Actor, AuditEntry
from nodepool.core.cluster import MASTER_RETRY_AFTER_S, RegisteredCluster
from nodepool.core.errors import NodepoolError, Unavailable
from nodepool.core.inputs import check_hostname
from nodepool.core.instruments import NULL, Instruments
from nodepool.core.k3s import BOOTSTRAP_SECRET_TYPE, KUBE_SYSTEM, bootstrap_secret_name, node_password_secret
from nodepool.core.logs import logger
from nodepool.core.model import Caller
from nodepool.core.ports import Kube, Registry
from nodepool.core.records import JoinTokenRecord, NodeRecord
from nodepool.core.rows import update_node
from nodepool.core.trail import AuditTrail
from nodepool.identity.attested import AttestedJoin
from nodepool.identity.guard import NodeGuard
from nodepool.identity.instances import InstanceDirectory, check_vm
from nodepool.join.cluster import Registration
from nodepool.join.request import BootstrapToken, JoinRequest, join_response, replaces_earlier

log = logger(__name__)
MASTER = "_master"  # the nonce's "host" for the master VM: no agent hostname can take this form


@dataclass(frozen=True)
class JoinPolicy:
    token_ttl_s: int = 900
    bootstrap_tokens: bool = True
    node_labels: tuple[str, ...] = ()
    node_taints: tuple[str, ...] = ()
    master_vm_id: str = ""  # NODEPOOL_MASTER_VM_ID: registrations must be attested by this VM


def revoke_unanswered_token(registry: Registry, kube: Kube, token_id: str) -> None:
    """Best effort, each step on its own: the secret is what makes the token valid, so it goes first;
    a row left behind (storage down) only names a token that no longer exists, for the cleanup timer."""
    for undo in (lambda: kube.delete_secret(KUBE_SYSTEM, bootstrap_secret_name(token_id)),
                 lambda: registry.delete_join_token(token_id)):
        try:
            undo()
        except NodepoolError as err:
            log.warning("could not revoke an unanswered join token", extra={"token_id": token_id, "error": err.code})


class JoinService:
    def __init__(self, registry: Registry, instances: InstanceDirectory, cluster: RegisteredCluster,
                 policy: JoinPolicy, attest: AttestedJoin, guard: NodeGuard, trail: AuditTrail,
                 telemetry: Instruments = NULL):
        self.registry, self.instances, self.cluster, self.policy = registry, instances, cluster, policy
        self.attest, self.guard, self.trail, self.telemetry = attest, guard, trail, telemetry

    def nonce(self, caller: Caller, hostname: str, now: datetime) -> dict:
        """A join challenge for a visible instance of the scale set (503 while it is not listed yet)."""
        self.instances.visible(check_hostname(hostname), now)
        return self.attest.issue_nonce(hostname, now)

    def master_nonce(self, caller: Caller, now: datetime) -> dict:
        return self.attest.issue_nonce(MASTER, now)

    def register(self, caller: Caller, registration: Registration, now: datetime) -> dict:
        if self.policy.master_vm_id:
            self.attest.attest_vm(MASTER, registration.attested, self.policy.master_vm_id, now)
        else:
            log.warning("NODEPOOL_MASTER_VM_ID is not set: the registration is bound to the master identity only")
        cluster = registration.to_cluster(now)
        self.registry.save_cluster(cluster)
        self.cluster.cache.put(cluster, now)
        self.trail.record(Actor.of(caller), audit.REGISTER, "", "master registration", now, detail=cluster.server)
        return {"server": cluster.server, "k3s_version": cluster.k3s_version,
                "registered_at": now.isoformat()}

    def join(self, caller: Caller, request: JoinRequest, now: datetime) -> dict:
        with self.telemetry.span("join", node=request.hostname, fresh=request.fresh):
            answer = self._join(caller, request, now)
        self.telemetry.add("nodepool.joins")
        return answer

    def _join(self, caller: Caller, request: JoinRequest, now: datetime) -> dict:
        cluster = self.cluster.info(now)
        claims = self.attest.verify(request.hostname, request.attested, now)
        candidates = self.instances.around(request.hostname, claims.vm_id, now)
        attested = self.attest.bind(claims, request.hostname, candidates, now)
        instance = check_vm(request.hostname, attested.instance, request.vm_id)  # what the agent claimed, if anything
        request = replace(request, vm_id=instance.vm_id.lower())  # the attested vmId, whatever was claimed
        kube = self.cluster.kube(now)
        row = self.registry.node(request.hostname)
        replaced = False  # did an earlier Node go? The audit trail says only what happened.
        if replaces_earlier(row, request, instance):  # both deletes are no-ops when nothing is there
            replaced = kube.delete_node(request.hostname)
            kube.delete_secret(KUBE_SYSTEM, node_password_secret(request.hostname))
        token_id, token, expires = "", cluster.agent_token, None
        if self.policy.bootstrap_tokens:
            minted = BootstrapToken.mint(now, self.policy.token_ttl_s)
            # Record first, then create: the cleanup timer can always find what we created.
            self.registry.add_join_token(JoinTokenRecord(minted.token_id, request.hostname,
                                                         instance.instance_id, now, minted.expires_at))
            token_id, token, expires = minted.token_id, minted.k3s_token(cluster.ca_hash), minted.expires_at
        elif not token:
            raise Unavailable("bootstrap tokens are off and the master registered no agent token",
                              code="no_agent_token", retry_after=MASTER_RETRY_AFTER_S)

        def joining(current: NodeRecord | None) -> NodeRecord:
            return (current or NodeRecord.new(request.hostname)).joined(
                instance_id=instance.instance_id, vm_id=request.vm_id, token_id=token_id, now=now,
                scale_set=instance.scale_set)

        try:
            if token_id:
                kube.create_secret(KUBE_SYSTEM, bootstrap_secret_name(token_id), type=BOOTSTRAP_SECRET_TYPE,
                                   string_data=minted.secret_data(request.hostname))
            update_node(self.registry, request.hostname, joining, current=row)
            self.attest.adopt(attested)  # the new credential works from here; the previous one no longer
            self.guard.remember(attested.record, now)
            self._audit_join(Actor.of(caller, attested.record.credential_id), request, replaced, token_id, now)
        except Exception:
            if token_id:  # the agent never sees this token: it must not stay valid until its TTL
                revoke_unanswered_token(self.registry, kube, token_id)
            raise
        answer = join_response(cluster.server, token, cluster.ca_hash, cluster.k3s_version,
                               self.node_labels(instance), self.policy.node_taints, expires)
        return {**answer, **attested.response_fields()}

    def _audit_join(self, actor: Actor, request: JoinRequest, replaced: bool, token_id: str, now: datetime) -> None:
        """The join's facts, a row each (Node replaced, join, token minted), written side by side."""
        why, node = ("fresh disk" if request.fresh else "join"), request.hostname
        entries = [AuditEntry.of(actor, audit.NODE_DELETE, node, f"{why}: replaces the earlier Node", now)] * replaced
        entries.append(AuditEntry.of(actor, audit.JOIN, node, why, now, detail=f"vm {request.vm_id}"))
        if token_id:
            entries.append(AuditEntry.of(actor, audit.TOKEN_MINT, node, why, now, detail=f"token {token_id}"))
        self.trail.record_all(entries)

    def node_labels(self, instance) -> list[str]:
        spot = ["kubernetes.azure.com/scalesetpriority=spot"] if instance.spot else []
        return [*self.policy.node_labels, *spot]
