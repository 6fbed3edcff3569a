"""What the simulated API server serves, as discovery documents kubectl reads first.

Legacy discovery (`/api`, `/api/v1`, `/apis`, `/apis/GROUP/VERSION`) with verbs, kinds,
namespaced and shortNames, as a v1.30 server lists them. Aggregated discovery (an Accept of
`as=APIGroupDiscoveryList`) gets the same legacy documents with a plain `application/json`
type, which tells kubectl to fall back to the legacy documents.
"""
from __future__ import annotations

from dataclasses import dataclass

READ = ["get", "list", "watch"]
ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class Resource:
    group: str  # "" for core
    version: str
    name: str  # plural, the URL segment
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short: tuple[str, ...] = ()
    singular: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def document(self) -> dict:
        doc = {"name": self.name, "singularName": self.singular or self.kind.lower(), "namespaced": self.namespaced,
               "kind": self.kind, "verbs": list(self.verbs)}
        if self.short:
            doc["shortNames"] = list(self.short)
        return doc


RESOURCES = [
    Resource("", "v1", "nodes", "Node", False, tuple(ALL), ("no",)),
    Resource("", "v1", "pods", "Pod", True, tuple(ALL), ("po",)),
    Resource("", "v1", "secrets", "Secret", True, tuple(ALL)),
    Resource("", "v1", "namespaces", "Namespace", False, tuple(READ), ("ns",)),
    Resource("", "v1", "events", "Event", True, tuple(READ), ("ev",)),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, tuple(READ), ("ds",)),
    Resource("apps", "v1", "deployments", "Deployment", True, ("create", "get", "list", "patch", "update", "watch",
                                                                 "delete"), ("deploy",)),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, tuple(READ), ("rs",)),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, tuple(READ), ("sts",)),
    Resource("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, tuple(ALL), ("pdb",)),
    Resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
             ("create",)),
]
SUBRESOURCES = [  # listed after their parent in /api/v1, as the real server does
    {"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy", "version": "v1",
     "kind": "Eviction", "verbs": ["create"]},
    {"name": "nodes/status", "singularName": "", "namespaced": False, "kind": "Node", "verbs": ["get", "patch",
                                                                                                "update"]},
]
BY_PATH = {(r.group, r.name): r for r in RESOURCES}


def groups() -> list[str]:
    return sorted({r.group for r in RESOURCES if r.group})


def api_versions() -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}


def api_group_list() -> dict:
    items = []
    for group in groups():
        version = next(r.version for r in RESOURCES if r.group == group)
        gv = {"groupVersion": f"{group}/{version}", "version": version}
        items.append({"name": group, "versions": [gv], "preferredVersion": gv})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": items}


def api_group(group: str) -> dict | None:
    for item in api_group_list()["groups"]:
        if item["name"] == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **item}
    return None


def resource_list(group: str, version: str) -> dict | None:
    found = [r.document() for r in RESOURCES if r.group == group and r.version == version]
    if not found:
        return None
    if not group:
        found += SUBRESOURCES
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": found}
