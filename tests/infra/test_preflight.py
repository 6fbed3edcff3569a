"""`tasks.py preflight` through the real SDK clients against the simulated ARM (sim/arm_subscription.py,
whose answers have the shapes of Microsoft's REST examples: tests/sim/test_arm_vectors.py)."""
from ops import preflight
from ops.preflight_rules import Finding
from tests.infra.ops_support import azure_for


def lines(sim, **env) -> list[Finding]:
    az = azure_for(sim, GRAPH_ENDPOINT=sim.arm_url, SSH_ALLOWED_CIDRS="203.0.113.7/32", **env)
    az.resources.resource_groups.create_or_update(az.config.storage_group, {"location": "westeurope"})
    return preflight.run(az, say=lambda _: None)


def failed(findings) -> list[str]:
    return [f.what for f in findings if f.level == "FAIL"]


def test_a_fresh_pay_as_you_go_subscription_passes_with_microsoft_app_to_register(sim):
    found = lines(sim)
    assert failed(found) == []
    warnings = [f.line() for f in found if f.level == "warn"]
    assert warnings == ["warn  provider Microsoft.App is NotRegistered -> deploy-compute registers it (Flex VNet "
                        "integration needs it)"]
    assert any("Standard_D2as_v5 offered in westeurope, Spot-capable" in f.what for f in found)
    assert any("lowPriorityCores: 4 needed, 100 free of 100" in f.what for f in found)


def test_spot_on_a_size_that_is_not_low_priority_capable_fails_naming_the_fix(sim):
    found = lines(sim, AGENT_SKU="Standard_B2ms")
    assert any("Standard_B2ms cannot run Spot in westeurope (LowPriorityCapable False)" in w for w in failed(found))


def test_a_free_trial_no_spot_quota_a_taken_name_and_no_role_rights_each_fail(sim):
    az = azure_for(sim)
    sub = sim.arm.subscription
    sub.quota_id = "FreeTrial_2014-09-01"
    sub.usages["lowPriorityCores"] = [0, 0]
    sub.taken.add(az.config.function_app)
    sub.permissions = {"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}
    found = " | ".join(failed(lines(sim)))
    assert "offer (FreeTrial_2014-09-01) has no Spot VMs" in found
    assert "vCPU quota lowPriorityCores: 4 needed, 0 free of 0" in found
    assert f"Function App {az.config.function_app} is taken" in found
    assert "may not write role assignments" in found


def test_a_missing_group_and_a_tenant_without_app_registration_are_warnings(sim):
    sim.arm.subscription.users_may_register_apps = False
    found = lines(sim, COMPUTE_GROUP="k3s-later")
    warnings = " | ".join(f.what for f in found if f.level == "warn")
    assert "k3s-later does not exist yet" in warnings and "may not register applications" in warnings
