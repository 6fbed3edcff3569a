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
    return Config.load({"AZURE_SUBSCRIPTION_ID": "x", **values}, dotenv=Path("/nonexistent"))


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
                 SSH_PORT="2222", ADMIN_USERNAME="ops", APPLY_CLOUDFLARE_NSG="true", ENABLE_NVIDIA="true")
    c = files(cfg)["compute"]
    assert (c["masterSku"], c["agentSku"], c["agentCount"], c["agentPriority"]) == (
        "Standard_B1ls", "Standard_D4as_v5", 4, "Regular")
    assert (c["sshPort"], c["adminUsername"], c["applyCloudflareNsg"], c["enableNvidia"]) == (2222, "ops", True, True)


def test_a_pre_existing_storage_account_is_used_as_the_seed_allowed():
    c = files(config(STORAGE_ACCOUNT_GROUP="shared-rg", STORAGE_ACCOUNT_NAME="mysrv01"))["compute"]
    assert (c["storageAccountGroup"], c["storageAccountName"]) == ("shared-rg", "mysrv01")


def test_origin_nsg_without_addresses_is_one_clear_error():
    with pytest.raises(OpsError, match="SSH_ALLOWED_CIDRS"):
        files(config(APPLY_ORIGIN_NSG="true"))
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
