"""The parameter files `tasks.py params` writes fit what storage.bicep and compute.bicep declare, and
every deployment output the tasks read exists."""
import re
from pathlib import Path

import pytest

from ops import params as P
from ops.config import Config
from ops.errors import OpsError
from tests.infra.bicep_support import BICEP, parsed

BICEP_TYPES = {"string": str, "int": int, "bool": bool, "array": list, "object": dict}


def config(**values) -> Config:
    return Config.load({"AZURE_SUBSCRIPTION_ID": "x", "SSH_ALLOWED_CIDRS": "203.0.113.7/32", **values},
                       dotenv=Path("/nonexistent"))


def files(cfg: Config) -> dict:
    return P.arm_parameters(cfg, {"master": "#cloud-config\n", "agent": "#cloud-config\n"}, "ssh-ed25519 AAAA k")


@pytest.mark.parametrize("which", ["storage", "compute"])
def test_every_value_written_is_declared_with_its_type_and_every_required_one_is_written(which):
    declared = parsed(BICEP / f"{which}.bicep")["parameters"]
    written = files(config())[which]
    for name, value in written.items():
        assert name in declared, name
        assert isinstance(value, BICEP_TYPES[declared[name]["type"]]), name
        assert not (isinstance(value, bool) and declared[name]["type"] == "int"), name
    required = {n for n, p in declared.items() if p.get("default") is None}
    assert required - set(written) == set()


def test_seed_settings_reach_the_compute_parameters():
    cfg = config(MASTER_SKU="Standard_B1ls", AGENT_SKU="Standard_D4as_v5", AGENT_COUNT="4", AGENT_PRIORITY="regular",
                 SSH_PORT="2222", ADMIN_USERNAME="ops", APPLY_CLOUDFLARE_NSG="true")
    c = files(cfg)["compute"]
    assert (c["masterSku"], c["agentSku"], c["agentCount"], c["agentPriority"]) == (
        "Standard_B1ls", "Standard_D4as_v5", 4, "Regular")
    assert (c["sshPort"], c["adminUsername"], c["applyCloudflareNsg"]) == (2222, "ops", True)


def test_a_pre_existing_storage_account_is_used_as_the_seed_allowed():
    c = files(config(STORAGE_ACCOUNT_GROUP="shared-rg", STORAGE_ACCOUNT_NAME="mysrv01"))["compute"]
    assert (c["storageAccountGroup"], c["storageAccountName"]) == ("shared-rg", "mysrv01")


def test_origin_nsg_without_addresses_is_one_clear_error():
    with pytest.raises(OpsError, match="SSH_ALLOWED_CIDRS"):
        files(config(APPLY_ORIGIN_NSG="true", SSH_ALLOWED_CIDRS=""))
    assert files(config(APPLY_ORIGIN_NSG="true", SSH_ALLOWED_CIDRS="203.0.113.7/32"))["compute"][
        "sshSourceRanges"] == ["203.0.113.7/32"]


def test_derived_names_fit_azure_naming_rules():
    cfg = config(COMPUTE_GROUP="My-Cluster-compute", STORAGE_GROUP="My-Cluster-storage")
    for name in (cfg.storage_account, cfg.app_storage_account):
        assert re.fullmatch(r"[a-z0-9]{3,24}", name), name
    assert re.fullmatch(r"[a-z0-9-]{2,60}", cfg.function_app)


def test_every_output_the_tasks_read_is_declared():
    outputs = parsed(BICEP / "compute.bicep")["outputs"]
    read = set()
    for path in (BICEP.parent.parent / "ops").glob("*.py"):
        read |= set(re.findall(r'outputs\(az, "compute"\)(?:\.get\("(\w+)"\))?', path.read_text()))
        read |= set(re.findall(r'out\.get\("(\w+)"', path.read_text()))
    read.discard("")
    assert read and read <= set(outputs), read - set(outputs)
    assert {"storageAccountId", "storageAccountName"} <= set(parsed(BICEP / "storage.bicep")["outputs"])


def test_ssh_is_never_open_to_the_internet_by_omission():
    with pytest.raises(OpsError, match="SSH_ALLOWED_CIDRS.*0.0.0.0/0, deliberately"):
        files(config(SSH_ALLOWED_CIDRS=""))
    assert files(config(SSH_ALLOWED_CIDRS="0.0.0.0/0"))["compute"]["sshSourceRanges"] == ["0.0.0.0/0"]


def test_global_names_differ_between_subscriptions_with_the_same_group_names():
    one, other = config(AZURE_SUBSCRIPTION_ID="sub-one"), config(AZURE_SUBSCRIPTION_ID="sub-two")
    for name in ("storage_account", "app_storage_account", "function_app", "key_vault"):
        assert getattr(one, name) != getattr(other, name), name
    assert re.fullmatch(r"[a-z][a-z0-9-]{2,23}", one.key_vault)


@pytest.mark.parametrize("size", ["Standard_B2s", "standard_b4ms", "Standard_D2s_v3_Promo"])
def test_a_spot_pool_on_a_size_that_cannot_be_spot_is_refused_before_deploying(size):
    with pytest.raises(OpsError, match="cannot run Spot"):
        files(config(AGENT_SKU=size, AGENT_PRIORITY="Spot"))
    assert files(config(AGENT_SKU=size, AGENT_PRIORITY="Regular"))["compute"]["agentSku"] == size


def test_the_default_pool_is_spot_on_a_spot_capable_size():
    from ops.sizes import spot_refusal

    cfg = config()
    assert cfg["AGENT_PRIORITY"] == "Spot" and spot_refusal(cfg["AGENT_SKU"]) == ""
    compute = parsed(BICEP / "compute.bicep")["parameters"]
    assert spot_refusal(compute["agentSku"]["default"]) == "" and compute["agentPriority"]["default"] == "Spot"


def test_the_audience_params_renders_is_the_one_compute_bicep_sets_for_the_app():
    text = (BICEP / "compute.bicep").read_text()
    assert "var apiAudience = 'api://${tenant().tenantId}/nodepool-${prefix}'" in text
    assert f"var tenantPlaceholder = '{P.TENANT}'" in text and "NODEPOOL_AUDIENCE: apiAudience" in text
    assert text.count("tenantPlaceholder, tenant().tenantId)") == 2  # master's and agents' customData
    cfg = config(COMPUTE_GROUP="blue-compute")
    assert P.deploy_time_values(cfg)["API_AUDIENCE"] == f"api://{P.TENANT}/nodepool-blue"


def test_the_function_key_uri_names_the_storage_groups_vault_and_the_secret_publish_writes():
    cfg = config()
    uri = P.deploy_time_values(cfg)["FUNCTION_KEY_SECRET_URI"]
    assert uri == f"https://{cfg.key_vault}.vault.azure.net/secrets/agent-function-key"
    assert files(cfg)["storage"]["keyVaultName"] == files(cfg)["compute"]["keyVaultName"] == cfg.key_vault
