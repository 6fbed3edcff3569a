"""The real control plane tier: kube-apiserver, kube-controller-manager and kube-scheduler built from
the official Go modules (localenv/control_plane/), our simulator playing only the kubelets.

One control plane per test worker (it starts in seconds, but not in milliseconds); each test
gets its own namespace and kubelets, and leaves the cluster as it found it: its namespaces,
Nodes and kube-system secrets are removed at teardown. Where the binaries are missing (no Go)
the tier is skipped with the reason; CI sets NODEPOOL_REQUIRE_CONTROL_PLANE=1 so that it
fails instead.
"""
from __future__ import annotations

import os
import secrets

import pytest

from localenv.control_plane import binaries
from localenv.control_plane.cluster import ControlPlane
from localenv.control_plane.credential import app_credential
from localenv.waiting import wait_for
from nodepool.adapters.kube import KubeClient
from nodepool.adapters.kube_http import KubeHttp
from nodepool.core.errors import NotFound
from sim.real_kube import RealKube
from tests.control_plane.seed import RealSeed

KEEP_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}


@pytest.fixture(scope="session")
def control_plane():
    reason = binaries.missing()
    if reason:
        if os.environ.get("NODEPOOL_REQUIRE_CONTROL_PLANE"):
            pytest.fail(f"the real control plane is required here: {reason}")
        pytest.skip(reason)
    with ControlPlane() as cp:
        yield cp


@pytest.fixture(scope="session")
def app_token(control_plane) -> str:
    """The ServiceAccount token of cloud-init/master.yml's manifest: the app's only credential."""
    return app_credential(control_plane)


@pytest.fixture(scope="session")
def admin(control_plane) -> KubeHttp:
    return KubeHttp(control_plane.url, control_plane.token, control_plane.ca_pem, read_timeout=30)


@pytest.fixture
def app_kube(control_plane, app_token) -> KubeClient:
    """The production adapter with the app's credential, as bootstrap wires it."""
    return KubeClient(control_plane.url, app_token, control_plane.ca_pem, read_timeout=30)


@pytest.fixture
def admin_kube(control_plane) -> KubeClient:
    """The production adapter with the admin's credential: for what the app's RBAC rightly lacks."""
    return KubeClient(control_plane.url, control_plane.token, control_plane.ca_pem, page_size=2, read_timeout=30)


def _names(admin: KubeHttp, path: str) -> set[str]:
    return {o["metadata"]["name"] for o in admin.pages(path, f"list {path}", {})}


@pytest.fixture
def real_kube(control_plane, app_token, admin):
    """This test's kubelets and k3s supervisor; at teardown the cluster is put back as it was."""
    before = {path: _names(admin, path) for path in ("/api/v1/nodes", "/api/v1/namespaces",
                                                     "/api/v1/namespaces/kube-system/secrets")}
    kube = RealKube(control_plane, app_token)
    yield kube
    kube.stop()
    _restore(admin, before)


def _restore(admin: KubeHttp, before: dict[str, set[str]]) -> None:
    """Delete what the test made: namespaces (their pods at once, so no pod outlives its test), Nodes,
    kube-system secrets."""
    def delete(path: str, body=None) -> None:
        try:
            admin.call("DELETE", path, f"delete {path}", body=body)
        except NotFound:
            pass
    for path in ("/api/v1/namespaces", "/api/v1/nodes", "/api/v1/namespaces/kube-system/secrets"):
        for name in sorted(_names(admin, path) - before[path] - KEEP_NAMESPACES):
            delete(f"{path}/{name}")
            if path == "/api/v1/namespaces":
                _force_delete_pods(admin, name, delete)


def _force_delete_pods(admin: KubeHttp, namespace: str, delete) -> None:
    def gone() -> bool:
        pods = list(admin.pages(f"/api/v1/namespaces/{namespace}/pods", "list pods", {}))
        for pod in pods:
            delete(f"/api/v1/namespaces/{namespace}/pods/{pod['metadata']['name']}", {"gracePeriodSeconds": 0})
        return not pods
    wait_for(gone, 60, interval=0.2, what=f"the pods of namespace {namespace} gone")


@pytest.fixture
def namespace(real_kube, admin, control_plane) -> str:
    """A namespace of this test's own, with its `default` ServiceAccount (pods need it)."""
    name = f"t-{secrets.token_hex(4)}"
    admin.call("POST", "/api/v1/namespaces", "create namespace",
               body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    wait_for(lambda: _exists(admin, f"/api/v1/namespaces/{name}/serviceaccounts/default"), 60, interval=0.1,
             what=f"the default ServiceAccount of {name}")
    return name


def _exists(admin: KubeHttp, path: str) -> bool:
    try:
        admin.call("GET", path, f"get {path}")
    except NotFound:
        return False
    return True


@pytest.fixture
def seed(admin, real_kube, namespace) -> RealSeed:
    return RealSeed(admin, real_kube, namespace)
