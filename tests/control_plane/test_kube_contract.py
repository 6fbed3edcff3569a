"""The Kube port's contract (tests/adapters/test_kube_contract.py), run against the real control plane:
the production adapter, with the admin's credential (the app's own is tested in test_rbac.py), over
a cluster seeded through real controllers, the real scheduler and our kubelets."""
from __future__ import annotations

import inspect

import pytest

from tests.adapters import test_kube_contract as contract

# Every contract test that takes a `world`, collected here with this module's `world`.
globals().update({name: test for name, test in vars(contract).items()
                  if name.startswith("test_") and "world" in inspect.signature(test).parameters})


@pytest.fixture
def world(seed, admin_kube):
    return seed, admin_kube
