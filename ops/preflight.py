"""`tasks.py preflight`: read through the SDKs what the deployment depends on and judge it
(ops/preflight_rules.py) before anything is created: the offer, the sizes and their Spot
capability in the region, vCPU quota, providers, the caller's right to write role assignments in
both groups, the global names, and (through Microsoft Graph, where readable) the tenant's app
registration settings. Reads only; one line a finding, non-zero when one would fail a deployment.
"""
from __future__ import annotations

import requests
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ops import params as P
from ops.arm import Azure
from ops.preflight_rules import PROVIDERS, Facts, Finding, Plan, Pool, judge, skus_by_name


def plan(az: Azure) -> Plan:
    cfg = az.config
    spot = cfg["AGENT_PRIORITY"].capitalize() == "Spot"
    pools = [Pool("agents", cfg["AGENT_SKU"], spot, max(cfg.number("AGENT_COUNT"), 1))]
    if spot:  # the Regular fallback pool: one node of it must fit when spot has no capacity
        pools.append(Pool("agents-regular", cfg["AGENT_SKU"], False, 1))
    names = (("storage account", cfg.storage_account), ("storage account", cfg.app_storage_account),
             ("Function App", cfg.function_app), ("Key Vault", cfg.key_vault))
    return Plan(cfg["LOCATION"], cfg["MASTER_SKU"], tuple(pools), (cfg.storage_group, cfg["COMPUTE_GROUP"]),
                names, P.audience(cfg.prefix, "{tenantId}"))


def facts(az: Azure, want: Plan) -> Facts:
    sub = az.subscriptions.subscriptions.get(az.config.subscription)
    found = Facts(quota_id=(sub.subscription_policies.quota_id if sub.subscription_policies else "") or "")
    rows = [row.as_dict() for row in az.compute.resource_skus.list(filter=f"location eq '{want.location}'")]
    found.skus = skus_by_name(rows, want.location)  # azure-mgmt-compute 39's models keep ARM's wire names
    found.usages = {u.name.value: (u.current_value, u.limit) for u in az.compute.usage.list(want.location)
                    if u.name and u.name.value}
    found.providers = {ns: str(az.resources.providers.get(ns).registration_state) for ns in PROVIDERS}
    for group in want.groups:
        try:
            found.permissions[group] = [{"actions": p.actions, "notActions": p.not_actions}
                                        for p in az.authorization.permissions.list_for_resource_group(group)]
        except ResourceNotFoundError:
            found.permissions[group] = None
    found.names = {name: _available(az, what, name) for what, name in want.names}
    found.can_create_apps, found.uri_policy = _tenant(az, az.config["GRAPH_ENDPOINT"].rstrip("/"))
    return found


def _available(az: Azure, what: str, name: str) -> tuple[bool, str]:
    if what == "storage account":
        answer = az.storage.storage_accounts.check_name_availability({"name": name,
                                                                       "type": "Microsoft.Storage/storageAccounts"})
    elif what == "Function App":
        answer = az.web.check_name_availability({"name": name, "type": "Microsoft.Web/sites"})
    else:
        answer = az.keyvault.vaults.check_name_availability({"name": name, "type": "Microsoft.KeyVault/vaults"})
    if answer.name_available or _ours(az, what, name):
        return True, ""
    return False, str(answer.message or answer.reason or "taken")


def _ours(az: Azure, what: str, name: str) -> bool:
    """A name already taken by our own earlier deployment is no conflict."""
    cfg = az.config
    kinds = {"storage account": "Microsoft.Storage/storageAccounts", "Function App": "Microsoft.Web/sites",
             "Key Vault": "Microsoft.KeyVault/vaults"}
    for group in (cfg.storage_group, cfg["COMPUTE_GROUP"]):
        try:
            held = az.resources.resources.list_by_resource_group(group)
            if any(r.name == name and r.type == kinds[what] for r in held):
                return True
        except ResourceNotFoundError:
            continue
    return False


def _tenant(az: Azure, graph: str) -> tuple[bool | None, str]:
    """Graph's authorizationPolicy (may users register apps?) and the identifier-URI restriction's state;
    (None, "") when the caller may not read them (they need Policy.Read.All)."""
    try:
        token = az.credential.get_token(graph.rstrip("/") + "/.default").token
        verify = az.config["ARM_CA_BUNDLE"] or True
        headers = {"Authorization": f"Bearer {token}"}
        policy = requests.get(f"{graph}/v1.0/policies/authorizationPolicy", headers=headers, timeout=30, verify=verify)
        apps = requests.get(f"{graph}/v1.0/policies/defaultAppManagementPolicy", headers=headers, timeout=30,
                            verify=verify)
    except (requests.RequestException, HttpResponseError, OSError):
        return None, ""
    allowed = None
    if policy.ok:
        allowed = bool((policy.json().get("defaultUserRolePermissions") or {}).get("allowedToCreateApps"))
    state = ""
    if apps.ok:
        restriction = ((apps.json().get("applicationRestrictions") or {}).get("identifierUris") or {})
        state = (restriction.get("nonDefaultUriAddition") or {}).get("state", "") or "not set"
    return allowed, state


def run(az: Azure, say=print) -> list[Finding]:
    want = plan(az)
    findings = judge(want, facts(az, want))
    for finding in findings:
        say(finding.line())
    return findings
