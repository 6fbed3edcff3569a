"""NODEPOOL_AUTOSCALE_* settings: pools parsed and checked at start-up, the policy built from them."""
import json
from datetime import timedelta

import pytest

from nodepool.autoscale.model import Priority, Resources
from nodepool.autoscale.policy import policy_from_settings
from nodepool.core.model import Taint
from nodepool.settings import InvalidSettings, Settings

STORAGE = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
APP = {**STORAGE, "NODEPOOL_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "s", "NODEPOOL_RESOURCE_GROUP": "rg"}
SPOT = {"name": "spot", "scale_set": "agents-spot", "vm_size": "Standard_D4s_v5", "cpu": "3860m", "memory": "13Gi",
        "max": 20, "labels": {"tier": "batch"}, "taints": ["spot=true:NoSchedule"]}
REGULAR = {"name": "regular", "priority": "regular", "vm_size": "Standard_D4s_v5", "cpu": 4, "memory": "13Gi",
           "preference": 1}


def pools(*items) -> dict:
    return {**APP, "NODEPOOL_AUTOSCALE_POOLS": json.dumps(list(items))}


def test_pools_are_read_with_their_shape_limits_labels_and_taints():
    spot, regular = Settings.from_env(pools(SPOT, REGULAR)).autoscale_pools
    assert (spot.scale_set, spot.pool.priority, spot.pool.max, spot.pool.min) == ("agents-spot", Priority.SPOT, 20, 0)
    assert spot.pool.shape == Resources(3860, 13 * 1024 ** 3)
    assert spot.pool.labels == (("tier", "batch"),) and spot.pool.taints == (Taint("spot", "true", "NoSchedule"),)
    assert (regular.scale_set, regular.pool.priority, regular.pool.preference) == ("regular", Priority.REGULAR, 1)


@pytest.mark.parametrize("items, says", [
    ([{**SPOT, "cpu": None}], "pool spot"),
    ([{k: v for k, v in SPOT.items() if k != "memory"}], "memory is required"),
    ([{**SPOT, "min": 5, "max": 2}], "min 5 is above max 2"),
    ([{**SPOT, "priority": "cheap"}], "pool spot"),
    ([{**SPOT, "taints": ["x:Sometimes"]}], "effect must be one of"),
    ([{**SPOT, "zones": [1]}], "unknown fields"),
    ([SPOT, {**REGULAR, "name": "spot"}], "same name"),
    ([SPOT, {**REGULAR, "scale_set": "AGENTS-SPOT"}], "same scale_set"),
    ([], "non-empty JSON list"),
])
def test_a_bad_pool_list_fails_at_start_up_naming_what_is_wrong(items, says):
    with pytest.raises(InvalidSettings, match="NODEPOOL_AUTOSCALE_POOLS") as caught:
        Settings.from_env(pools(*items))
    assert says in caught.value.message


def test_enabled_without_pools_is_incomplete_and_disabled_needs_none():
    with pytest.raises(InvalidSettings, match="NODEPOOL_AUTOSCALE_POOLS"):
        Settings.from_env({**APP, "NODEPOOL_AUTOSCALE_ENABLED": "true"}).complete()
    assert Settings.from_env(APP).complete().autoscale_enabled is False


def test_the_schedule_defaults_to_every_30_s_and_must_be_ncrontab():
    assert Settings.one("autoscale_schedule", {}) == "*/30 * * * * *"
    with pytest.raises(InvalidSettings, match="NODEPOOL_AUTOSCALE_SCHEDULE"):
        Settings.from_env({**APP, "NODEPOOL_AUTOSCALE_SCHEDULE": "*/5 * * * *"})


def test_the_policy_knobs_reach_the_policy():
    env = {**pools(SPOT), "NODEPOOL_AUTOSCALE_UTILIZATION_THRESHOLD": "0.6", "NODEPOOL_AUTOSCALE_UNNEEDED_TIME": "300",
           "NODEPOOL_AUTOSCALE_DELAY_AFTER_SCALE_UP": "120", "NODEPOOL_AUTOSCALE_MAX_STEP": "5",
           "NODEPOOL_AUTOSCALE_HEADROOM_NODES": "0"}
    policy = policy_from_settings(Settings.from_env(env))
    assert (policy.utilization_threshold, policy.unneeded_time, policy.delay_after_scale_up) == (
        0.6, timedelta(minutes=5), timedelta(minutes=2))
    assert (policy.max_step, policy.headroom_nodes) == (5, 0)
    assert policy_from_settings(Settings.from_env(APP)).headroom_nodes == 1
    for bad in ({"NODEPOOL_AUTOSCALE_UTILIZATION_THRESHOLD": "1.5"}, {"NODEPOOL_AUTOSCALE_HEADROOM_NODES": "-1"}):
        with pytest.raises(InvalidSettings):
            Settings.from_env({**APP, **bad})
