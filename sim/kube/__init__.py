"""The Kubernetes (k3s) API server stand-in: `from sim.kube import KubeSim` (sim/kube/kubesim.py).

Modules: wire (object shapes, Status), store (the etcd), cluster/pods/controllers/disruption
(what the control plane does), k3s/join (bootstrap tokens, the supervisor), select/patch
(selectors, PATCH bodies), routes/api (the HTTP surface), seed (building a cluster from Python).
"""
from sim.kube.k3s import JoinRefused
from sim.kube.kubesim import KubeSim

__all__ = ["KubeSim", "JoinRefused"]
