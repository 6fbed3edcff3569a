"""deploy / view / watch / destroy against the simulator's ARM, with a small ARM JSON fixture
(no Bicep compiler installs here)."""
import pytest

from ops import catalog, deploy
from ops.errors import OpsError
from tests.infra.ops_support import azure_for, fixture_template, write_parameters


def test_a_deployment_creates_its_group_progresses_and_returns_outputs(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-new")
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    lines = []
    outputs = deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lines.append)
    assert outputs["functionAppUrl"]["value"] == "https://k3s-nodepool.azurewebsites.net"
    assert az.resources.resource_groups.check_existence("k3s-new")
    ops = deploy.operations(az, "compute")
    assert [(name, state) for name, state, _ in ops] == [
        ("Microsoft.ManagedIdentity/userAssignedIdentities/k3s-agent-id", "Succeeded"),
        ("Microsoft.Network/virtualNetworks/k3s-vnet", "Succeeded"),
        ("Microsoft.Web/sites/k3s-nodepool", "Succeeded")]
    assert deploy.outputs(az, "compute")["ssh"] == {"port": 2222, "user": "cluster"}
    assert any("k3s-nodepool" in row[2] for row in catalog.resources(az, say=lines.append))


def test_watch_prints_each_operation_as_it_finishes(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-watch")
    sim.arm.deployments.step_s = 0.3
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, wait=False, say=lambda _: None)
    lines = []
    assert deploy.watch(az, "compute", interval=0.05, say=lines.append) == "Succeeded"
    running = [line for line in lines if "Running" in line]
    done = [line for line in lines if "Succeeded" in line and "/" in line]
    assert running and len(done) == 3  # seen in progress, then each one done


def test_a_failed_resource_fails_the_deployment_with_one_clear_error(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-fail")
    sim.arm.deployments.fail.add("k3s-vnet")
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    with pytest.raises(OpsError, match="ended Failed"):
        deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lambda _: None)
    states = {name: state for name, state, _ in deploy.operations(az, "compute")}
    assert states["Microsoft.Network/virtualNetworks/k3s-vnet"] == "Failed"


def test_parameters_the_template_does_not_declare_are_refused_before_anything_starts(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-bad")
    write_parameters(tmp_path, "compute", {"adminPublicKey": "k", "agentCuont": 3})
    with pytest.raises(OpsError, match="agentCuont"):
        deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lambda _: None)
    assert not az.resources.resource_groups.check_existence("k3s-bad")


def test_arms_validation_refuses_a_missing_parameter_before_anything_is_deployed(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-missing")
    write_parameters(tmp_path, "compute", {"agentCount": 1})
    with pytest.raises(OpsError, match="(?s)validation refused.*\n  InvalidTemplate: The value for the template "
                       "parameter 'adminPublicKey' is not provided"):
        deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lambda _: None)
    assert sim.arm.deployments.validated == ["compute"] and not sim.arm.deployments.items


def test_every_error_arm_validation_finds_is_one_line_and_nothing_starts(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-invalid")
    sim.arm.deployments.preflight_errors = {"SkuNotAvailable": "Standard_B2s is not available for Spot.",
                                            "InvalidResourceName": "name k3s_app is not valid."}
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    with pytest.raises(OpsError) as caught:
        deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lambda _: None)
    assert str(caught.value).splitlines()[1:] == [
        "  SkuNotAvailable: Standard_B2s is not available for Spot. (target compute)",
        "  InvalidResourceName: name k3s_app is not valid. (target compute)"]
    assert not sim.arm.deployments.items


def test_what_if_shows_arms_changes_and_deploys_nothing(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-preview")
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    lines = []
    assert deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lines.append,
                         preview=True) is None
    assert [line.split()[0] for line in lines if line.startswith("  ")] == ["Create"] * 3
    assert lines[-1] == "compute: what-if only; nothing deployed" and not sim.arm.deployments.items


def test_deploy_compute_registers_microsoft_app_first_and_then_grows_the_first_pool(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP=sim.world.config.resource_group, AGENT_COUNT="5")
    assert sim.arm.subscription.providers["Microsoft.App"] == "NotRegistered"
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    lines = []
    deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lines.append, register_interval=0.01)
    assert sim.arm.subscription.providers["Microsoft.App"] == "Registered"
    assert lines.index("Microsoft.App: Registered") < lines.index(f"deploying compute into "
                                                                  f"{sim.world.config.resource_group} (westeurope)")
    assert "scaling agents from 3 to 5" in lines and sim.world.capacity == 5


def test_no_spot_capacity_after_deploying_is_a_warning_not_a_failed_deployment(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP=sim.world.config.resource_group, AGENT_COUNT="6")
    sim.world.capacity_left.refuse("SkuNotAvailable")
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    lines = []
    outputs = deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lines.append,
                            register_interval=0.01)
    assert outputs["functionAppUrl"]["value"]
    assert any(line.startswith("warning: pool agents did not grow to 6") for line in lines), lines


def test_destroy_compute_first_removes_its_role_assignments_in_the_storage_group(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-leaving")
    ids = [f"/subscriptions/{sim.subscription_id}/resourceGroups/k3s-storage/providers/Microsoft.Storage/"
           f"storageAccounts/srv/providers/Microsoft.Authorization/roleAssignments/{n}" for n in ("a1", "a2")]
    sim.arm.sites.assignments.update(ids)
    sim.arm.deployments.outputs["k3s-leaving"] = {"storageGroupAssignmentIds": ids}
    template = {**fixture_template(), "outputs": {**fixture_template()["outputs"],
                                                  "storageGroupAssignmentIds": {"type": "array", "value": "[x]"}}}
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    deploy.deploy(az, "compute", template=template, out=tmp_path, say=lambda _: None)
    assert deploy.forget_storage_access(az, say=lambda _: None) == ids
    assert sim.arm.sites.deleted_assignments == ids and deploy.forget_storage_access(az, say=lambda _: None) == []


def test_destroy_deletes_the_group_and_a_missing_group_is_not_an_error(sim, tmp_path):
    az = azure_for(sim, COMPUTE_GROUP="k3s-gone")
    az.resources.resource_groups.create_or_update("k3s-gone", {"location": "westeurope"})
    lines = []
    deploy.destroy(az, "k3s-gone", say=lines.append)
    assert not az.resources.resource_groups.check_existence("k3s-gone")
    deploy.destroy(az, "k3s-gone", say=lines.append)
    assert "does not exist" in lines[-1]


def test_outputs_of_a_deployment_never_made_name_the_task_to_run(sim):
    with pytest.raises(OpsError, match="deploy-compute"):
        deploy.outputs(azure_for(sim, COMPUTE_GROUP="k3s-none"), "compute")
