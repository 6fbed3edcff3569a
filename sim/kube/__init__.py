"""The Kubernetes (k3s) API server stand-in: `from sim.kube import KubeSim` (sim/kube/kubesim.py).

Modules: wire (object shapes, Status), store (the etcd, with a change log), cluster/pods/
controllers/disruption (what the control plane does), workloads (apps/v1, namespaces, access
reviews), k3s/join (bootstrap tokens, the supervisor), select/patch (selectors, PATCH bodies),
api/routes/discovery/tables/watch/openapi/protobuf (the HTTP surface kubectl speaks to), seed
(building a cluster from Python).
"""
from sim.kube.k3s import JoinRefused
from sim.kube.kubesim import KubeSim

__all__ = ["KubeSim", "JoinRefused"]
