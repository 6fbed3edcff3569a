"""`tasks.py params`: customData for master and agents plus one ARM parameter file per deployment.

customData is rendered before the compute deployment creates the identities, so the identities'
client ids and the subscription in STORAGE_ACCOUNT_ID are placeholders that compute.bicep
replaces (the same constants are declared there; a test keeps them in step). No storage key or
other secret goes into either file: nodes fetch the /srv key with their identity at boot.
"""
from __future__ import annotations

import json
from pathlib import Path

from ops.config import ROOT, Config
from ops.errors import OpsError

MASTER_CLIENT_ID = "00000000-0000-4000-8000-00000000aa01"
AGENT_CLIENT_ID = "00000000-0000-4000-8000-00000000aa02"
SUBSCRIPTION = "00000000-0000-4000-8000-00000000aa03"
SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
# Seed names that feed cloud-init variables when they are set explicitly.
SEED_TO_CLOUD_INIT = {"K3S_VERSION": "K3S_VERSION", "SHARE_NAME": "STORAGE_SHARE", "ENABLE_TAILSCALE": "TAILSCALE",
                      "ENABLE_NVIDIA": "NVIDIA"}


def deploy_time_values(cfg: Config) -> dict[str, str]:
    """cloud-init values only the deployment knows, as the placeholders compute.bicep replaces."""
    account_id = (f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{cfg.storage_group}"
                  f"/providers/Microsoft.Storage/storageAccounts/{cfg.storage_account}")
    return {"MASTER_IDENTITY_CLIENT_ID": MASTER_CLIENT_ID, "AGENT_IDENTITY_CLIENT_ID": AGENT_CLIENT_ID,
            "STORAGE_ACCOUNT_ID": account_id, "FUNCTION_APP_URL": f"https://{cfg.function_app}.azurewebsites.net"}


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
    try:
        return {role: render_cloud_init(role, values) for role in ("master", "agent")}
    except TemplateError as err:
        raise OpsError(str(err)) from None


def ssh_sources(cfg: Config) -> list[str]:
    ranges = [r.strip() for r in cfg["SSH_ALLOWED_CIDRS"].split(",") if r.strip()]
    if cfg.flag("APPLY_ORIGIN_NSG") and not ranges:
        raise OpsError("APPLY_ORIGIN_NSG is true: set SSH_ALLOWED_CIDRS to your address(es), e.g. 203.0.113.7/32")
    return ranges or ["0.0.0.0/0"]


def public_key(cfg: Config) -> str:
    path = ROOT / (cfg["SSH_KEY"] + ".pub")  # an absolute SSH_KEY stays absolute
    if not path.exists():
        raise OpsError(f"no SSH public key at {path}: run `python3 tasks.py keys` first")
    return path.read_text().strip()


def arm_parameters(cfg: Config, custom_data: dict[str, str], key: str) -> dict[str, dict]:
    """Parameter values per deployment, named as storage.bicep and compute.bicep declare them."""
    storage = {"storageAccountName": cfg.storage_account, "shareName": cfg["SHARE_NAME"],
               "location": cfg["LOCATION"]}
    compute = {
        "location": cfg["LOCATION"], "prefix": cfg.prefix, "adminUsername": cfg["ADMIN_USERNAME"],
        "adminPublicKey": key, "sshPort": cfg.number("SSH_PORT"), "sshSourceRanges": ssh_sources(cfg),
        "applyCloudflareNsg": cfg.flag("APPLY_CLOUDFLARE_NSG"), "masterSku": cfg["MASTER_SKU"],
        "agentSku": cfg["AGENT_SKU"], "agentCount": cfg.number("AGENT_COUNT"), "agentMax": cfg.number("AGENT_MAX"),
        "agentPriority": cfg["AGENT_PRIORITY"].capitalize(), "enableNvidia": cfg.flag("ENABLE_NVIDIA"),
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
