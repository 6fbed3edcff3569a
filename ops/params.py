"""`tasks.py params`: customData for master and agents plus one ARM parameter file per deployment.

customData is rendered before the compute deployment creates the identities, so the identities'
client ids, the subscription in STORAGE_ACCOUNT_ID and the tenant in the token audience are
placeholders that compute.bicep replaces (the same constants are declared there; a test keeps them
in step). No storage key, function key or other secret goes into either file: nodes fetch the /srv
key and the function key (FUNCTION_KEY_SECRET_URI, in the storage group's Key Vault) with their
identity at boot.
"""
from __future__ import annotations

import json
from pathlib import Path

from ops.config import ROOT, Config
from ops.errors import OpsError
from ops.sizes import spot_refusal

MASTER_CLIENT_ID = "00000000-0000-4000-8000-00000000aa01"
AGENT_CLIENT_ID = "00000000-0000-4000-8000-00000000aa02"
SUBSCRIPTION = "00000000-0000-4000-8000-00000000aa03"
TENANT = "00000000-0000-4000-8000-00000000aa04"
FUNCTION_KEY_SECRET = "agent-function-key"  # the secret `publish` writes and the VMs read
KEY_VAULT_SUFFIX = "vault.azure.net"
RELEASES = "https://github.com/k3s-io/k3s/releases/download"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
# Seed names that feed cloud-init variables when they are set explicitly.
SEED_TO_CLOUD_INIT = {"K3S_VERSION": "K3S_VERSION", "SHARE_NAME": "STORAGE_SHARE", "ENABLE_TAILSCALE": "TAILSCALE",
                      "ENABLE_NVIDIA": "NVIDIA"}


def audience(prefix: str, tenant: str = TENANT) -> str:
    """The token audience: compute.bicep's apiAudience, `api://{tenantId}/nodepool-{prefix}`."""
    return f"api://{tenant}/nodepool-{prefix}"


def function_key_uri(cfg: Config) -> str:
    return f"https://{cfg.key_vault}.{KEY_VAULT_SUFFIX}/secrets/{FUNCTION_KEY_SECRET}"


def deploy_time_values(cfg: Config) -> dict[str, str]:
    """cloud-init values only the deployment knows, as the placeholders compute.bicep replaces."""
    account_id = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{cfg.storage_group}"
                  f"/providers/Microsoft.Storage/storageAccounts/{cfg.storage_account}")
    return {"MASTER_IDENTITY_CLIENT_ID": MASTER_CLIENT_ID, "AGENT_IDENTITY_CLIENT_ID": AGENT_CLIENT_ID,
            "STORAGE_ACCOUNT_ID": account_id, "FUNCTION_APP_URL": f"https://{cfg.function_app}.azurewebsites.net",
            "API_AUDIENCE": audience(cfg.prefix), "FUNCTION_KEY_SECRET_URI": function_key_uri(cfg),
            "SSH_PORT": str(cfg.number("SSH_PORT"))}


def k3s_checksum_problem(values: dict[str, str]) -> str:
    """The example's all-zero K3S_SHA256 passes the pattern and fails the checksum on every VM: refuse it."""
    sha, version = values.get("K3S_SHA256", ""), values.get("K3S_VERSION", "VERSION")
    if sha and set(sha) != {"0"}:
        return ""
    url = f"{RELEASES}/{version.replace('+', '%2B')}/sha256sum-amd64.txt"
    return (f"K3S_SHA256 is {'the all-zero placeholder' if sha else 'not set'}: every VM would refuse the k3s "
            f"binary. Put the SHA-256 of k3s {version} in cluster.env: the line ending in ' k3s' of {url}")


def cloud_init_values(cfg: Config, given: dict[str, str], explicit: set[str]) -> dict[str, str]:
    values = dict(given)
    for seed, name in SEED_TO_CLOUD_INIT.items():
        if seed in explicit:
            values[name] = cfg[seed].lower() if name in ("TAILSCALE", "NVIDIA") else cfg[seed]
    values.update(deploy_time_values(cfg))
    return values


def render(cfg: Config, given: dict[str, str], explicit: set[str]) -> dict[str, str]:
    """master and agent cloud-init; TemplateError becomes one OpsError naming every problem."""
    from infra.cloud_init import render_cloud_init
    from infra.render import TemplateError

    values = cloud_init_values(cfg, given, explicit)
    if problem := k3s_checksum_problem(values):
        raise OpsError(problem)
    try:
        return {role: render_cloud_init(role, values) for role in ("master", "agent")}
    except TemplateError as err:
        raise OpsError(str(err)) from None


def ssh_sources(cfg: Config) -> list[str]:
    """Never SSH open to the internet by omission: 0.0.0.0/0 only when written out."""
    ranges = [r.strip() for r in cfg["SSH_ALLOWED_CIDRS"].split(",") if r.strip()]
    if not ranges:
        why = "APPLY_ORIGIN_NSG is true" if cfg.flag("APPLY_ORIGIN_NSG") else "SSH to master0 is open to nobody"
        raise OpsError(f"{why}: set SSH_ALLOWED_CIDRS to your address(es), e.g. 203.0.113.7/32 "
                       "(or 0.0.0.0/0, deliberately, to open SSH to the whole internet)")
    return ranges


def pool_problem(cfg: Config) -> str:
    if cfg["AGENT_PRIORITY"].capitalize() == "Spot":
        return spot_refusal(cfg["AGENT_SKU"])
    return ""


def public_key(cfg: Config) -> str:
    path = ROOT / (cfg["SSH_KEY"] + ".pub")  # an absolute SSH_KEY stays absolute
    if not path.exists():
        raise OpsError(f"no SSH public key at {path}: run `python3 tasks.py keys` first")
    return path.read_text().strip()


def arm_parameters(cfg: Config, custom_data: dict[str, str], key: str) -> dict[str, dict]:
    """Parameter values per deployment, named as storage.bicep and compute.bicep declare them."""
    if problem := pool_problem(cfg):
        raise OpsError(problem)
    storage = {"storageAccountName": cfg.storage_account, "shareName": cfg["SHARE_NAME"],
               "location": cfg["LOCATION"], "keyVaultName": cfg.key_vault}
    compute = {
        "location": cfg["LOCATION"], "prefix": cfg.prefix, "adminUsername": cfg["ADMIN_USERNAME"],
        "adminPublicKey": key, "sshPort": cfg.number("SSH_PORT"), "sshSourceRanges": ssh_sources(cfg),
        "applyCloudflareNsg": cfg.flag("APPLY_CLOUDFLARE_NSG"), "masterSku": cfg["MASTER_SKU"],
        "agentSku": cfg["AGENT_SKU"], "agentCount": cfg.number("AGENT_COUNT"), "agentMax": cfg.number("AGENT_MAX"),
        "agentPriority": cfg["AGENT_PRIORITY"].capitalize(), "keyVaultName": cfg.key_vault,
        "masterCustomData": custom_data["master"], "agentCustomData": custom_data["agent"],
        "storageAccountGroup": cfg.storage_group, "storageAccountName": cfg.storage_account,
        "functionAppName": cfg.function_app, "appStorageAccountName": cfg.app_storage_account,
        "autoscaler": cfg["AUTOSCALER"],
    }
    return {"storage": storage, "compute": compute}


def parameter_file(values: dict) -> dict:
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0",
            "parameters": {name: {"value": value} for name, value in values.items()}}


def write(out: Path, files: dict[str, dict], say=print) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, values in files.items():
        path = out / f"{name}.parameters.json"
        path.write_text(json.dumps(parameter_file(values), indent=2))
        path.chmod(0o600)
        say(f"{name} parameters: {len(values)} values -> {path}")


def load(name: str, out: Path) -> dict:
    path = out / f"{name}.parameters.json"
    if not path.exists():
        raise OpsError(f"no {path.name} in {out}: run `python3 tasks.py params` first")
    return json.loads(path.read_text())["parameters"]
