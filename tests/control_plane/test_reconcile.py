"""Reconcile's ghost removal with real node lifecycle: the VM dies, its kubelet stops renewing its
Lease, the real nodelifecycle controller marks the Node Ready=Unknown, and the tick removes the Node
and its node-password secret (tests/functions/test_reconcile.py, with the control plane real)."""
from __future__ import annotations

import pytest

from tests.functions.reconcile_stack import ReconcileStack
from tests.functions.test_reconcile import test_the_ghost_of_a_vm_killed_without_notice_is_removed  # noqa: F401


@pytest.fixture
def make_pool(make_sim, storage_env, real_kube):
    def make(agents: int = 4, boot_seconds: float = 0.3, **settings) -> ReconcileStack:
        pool = ReconcileStack(make_sim(agents=agents, boot_seconds=boot_seconds, page_size=2, kube=real_kube),
                              storage_env, **settings)
        pool.join_all()
        return pool
    return make
