"""`preflight`'s judgement (pure): what ARM says about the subscription, held against what the
deployment needs, one finding a line with its fix. Facts are read by ops/preflight.py.

Sources: Spot's offer and size limits from Microsoft's "Use Azure Spot Virtual Machines"
(use-spot.md, Limitations); quota names from the Usages API (`cores`, `lowPriorityCores`, one per
family); the providers Flex VNet integration and the templates need; Microsoft.Authorization
permissions (actions and notActions, `*` wildcards) as ARM evaluates them.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

# Offers without Spot: Free Trial, MSDN / Visual Studio, Azure for Students, Azure Pass (quotaId prefixes).
NO_SPOT_OFFERS = ("FreeTrial", "MSDN", "AzureForStudents", "AzurePass", "Students", "DreamSpark")
PROVIDERS = ("Microsoft.App", "Microsoft.Compute", "Microsoft.Network", "Microsoft.Storage", "Microsoft.Web",
             "Microsoft.KeyVault", "Microsoft.Insights", "Microsoft.OperationalInsights", "Microsoft.ManagedIdentity")
ROLE_WRITE = "Microsoft.Authorization/roleAssignments/write"


@dataclass(frozen=True)
class Pool:
    name: str
    size: str
    spot: bool
    minimum: int  # instances it must be able to run at once


@dataclass(frozen=True)
class Plan:
    """What the deployment will ask for."""
    location: str
    master_size: str
    pools: tuple[Pool, ...]
    groups: tuple[str, ...]
    names: tuple[tuple[str, str], ...]  # (what, name) of every global name we will claim
    audience: str


@dataclass
class Facts:
    """What ARM (and Graph, where readable) answered."""
    quota_id: str = ""
    skus: dict[str, dict] = field(default_factory=dict)  # size -> {"family", "capabilities": {}, "restrictions": []}
    usages: dict[str, tuple[int, int]] = field(default_factory=dict)  # quota name -> (currentValue, limit)
    providers: dict[str, str] = field(default_factory=dict)  # namespace -> registrationState
    permissions: dict[str, list[dict] | None] = field(default_factory=dict)  # group -> entries (None: no group yet)
    names: dict[str, tuple[bool, str]] = field(default_factory=dict)  # name -> (available, reason or message)
    can_create_apps: bool | None = None  # tenant's users may register applications (None: unreadable)
    uri_policy: str = ""  # state of the tenant's identifier-URI restriction ("" unreadable)


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "warn" or "FAIL"
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.level:<4}  {self.what}" + (f" -> {self.fix}" if self.fix else "")


def skus_by_name(value: list[dict], location: str) -> dict[str, dict]:
    """ResourceSkus_List rows of virtualMachines in `location`, capability values kept as ARM's strings."""
    found = {}
    for row in value:
        locations = [loc.lower() for loc in row.get("locations") or []]
        if row.get("resourceType") != "virtualMachines" or location.lower() not in locations:
            continue
        found[row["name"]] = {"family": row.get("family", ""), "restrictions": row.get("restrictions") or [],
                              "capabilities": {c["name"]: c["value"] for c in row.get("capabilities") or []}}
    return found


def allows(entries: list[dict], action: str) -> bool:
    """ARM's reading of a permissions list: some entry grants it and does not exclude it."""
    def matches(patterns):
        return any(fnmatch.fnmatch(action.lower(), p.lower()) for p in patterns or [])
    return any(matches(e.get("actions")) and not matches(e.get("notActions")) for e in entries)


def judge(plan: Plan, facts: Facts) -> list[Finding]:
    return [*_offer(plan, facts), *_sizes(plan, facts), *_quota(plan, facts), *_providers(facts),
            *_rights(plan, facts), *_names(plan, facts), *_entra(plan, facts)]


def _offer(plan: Plan, facts: Facts) -> list[Finding]:
    if not any(p.spot for p in plan.pools):
        return []
    if facts.quota_id.startswith(NO_SPOT_OFFERS):
        return [Finding("FAIL", f"the subscription's offer ({facts.quota_id}) has no Spot VMs",
                        "use a Pay-as-you-go, EA or CSP subscription, or set AGENT_PRIORITY=Regular")]
    return [Finding("ok", f"offer {facts.quota_id or '?'} allows Spot")]


def _sizes(plan: Plan, facts: Facts) -> list[Finding]:
    found = []
    for role, size, spot in [("master0", plan.master_size, False), *[(p.name, p.size, p.spot) for p in plan.pools]]:
        sku = facts.skus.get(size)
        blocked = [r.get("reasonCode", "?") for r in (sku or {}).get("restrictions", []) if r.get("type") == "Location"]
        if sku is None or blocked:
            why = f"restricted ({', '.join(blocked)})" if blocked else "not offered"
            found.append(Finding("FAIL", f"{role}: {size} is {why} in {plan.location}",
                                 "pick another size (`python3 tasks.py list-sizes`) or LOCATION"))
        elif spot and sku["capabilities"].get("LowPriorityCapable") != "True":
            found.append(Finding("FAIL", f"{role}: {size} cannot run Spot in {plan.location} (LowPriorityCapable "
                                 f"{sku['capabilities'].get('LowPriorityCapable', 'absent')})",
                                 "set AGENT_SKU to a size whose LowPriorityCapable is True, e.g. Standard_D2as_v5"))
        else:
            capable = ", Spot-capable" if spot else ""
            found.append(Finding("ok", f"{role}: {size} offered in {plan.location}{capable}"))
    return found


def _vcpus(facts: Facts, size: str) -> int:
    try:
        return int(facts.skus.get(size, {}).get("capabilities", {}).get("vCPUs", "0"))
    except ValueError:
        return 0


def _quota(plan: Plan, facts: Facts) -> list[Finding]:
    need: dict[str, int] = {}
    regular = [(plan.master_size, 1)] + [(p.size, p.minimum) for p in plan.pools if not p.spot]
    for size, count in regular:
        for name in ("cores", facts.skus.get(size, {}).get("family", "")):
            if name:
                need[name] = need.get(name, 0) + count * _vcpus(facts, size)
    spot = sum(p.minimum * _vcpus(facts, p.size) for p in plan.pools if p.spot)
    if spot:
        need["lowPriorityCores"] = spot
    found = []
    for name, wanted in sorted(need.items()):
        if name not in facts.usages:
            found.append(Finding("warn", f"no usage named {name} in {plan.location}: quota not checked"))
            continue
        current, limit = facts.usages[name]
        level = "ok" if limit - current >= wanted else "FAIL"
        found.append(Finding(level, f"vCPU quota {name}: {wanted} needed, {limit - current} free of {limit}",
                             "" if level == "ok" else "ask for more in the portal (Quotas), or lower AGENT_COUNT"))
    return found


def _providers(facts: Facts) -> list[Finding]:
    found = []
    for ns in PROVIDERS:
        state = facts.providers.get(ns, "NotRegistered")
        if state == "Registered":
            continue
        fix = ("deploy-compute registers it (Flex VNet integration needs it)" if ns == "Microsoft.App" else
               f"az provider register -n {ns} --wait (or ARM does it during the deployment)")
        found.append(Finding("warn", f"provider {ns} is {state}", fix))
    if not found:
        found.append(Finding("ok", f"providers registered: {', '.join(PROVIDERS)}"))
    return found


def _rights(plan: Plan, facts: Facts) -> list[Finding]:
    found = []
    for group in plan.groups:
        entries = facts.permissions.get(group)
        if entries is None:
            found.append(Finding("warn", f"{group} does not exist yet: your rights in it are checked once it does",
                                 "Owner, User Access Administrator or Role Based Access Control Administrator there"))
        elif allows(entries, ROLE_WRITE):
            found.append(Finding("ok", f"{group}: you may write role assignments"))
        else:
            found.append(Finding("FAIL", f"{group}: you may not write role assignments ({ROLE_WRITE})",
                                 "ask for Owner, User Access Administrator or RBAC Administrator on the group"))
    return found


def _names(plan: Plan, facts: Facts) -> list[Finding]:
    found = []
    for what, name in plan.names:
        available, reason = facts.names.get(name, (True, ""))
        if available:
            found.append(Finding("ok", f"{what} {name} is free (or ours)"))
        else:
            found.append(Finding("FAIL", f"{what} {name} is taken: {reason}",
                                 "change COMPUTE_GROUP/STORAGE_GROUP or set the name (STORAGE_ACCOUNT_NAME, "
                                 "FUNCTION_APP_NAME)"))
    return found


def _entra(plan: Plan, facts: Facts) -> list[Finding]:
    found = []
    if facts.can_create_apps is False:
        found.append(Finding("warn", "users of this tenant may not register applications: the Entra app needs "
                             "Application Developer (or a higher role)", "ask for it, or create the app yourself "
                             f"with App ID URI {plan.audience} and deploy with createEntraApp=false"))
    elif facts.can_create_apps is None:
        found.append(Finding("warn", "could not read whether you may register applications (Graph)",
                             "you need Application Developer, or users allowed to register apps"))
    state = facts.uri_policy or "unreadable"
    found.append(Finding("ok", f"App ID URI {plan.audience} has the api://{{tenantId}}/... form the tenant's "
                         f"identifier-URI policy accepts (policy: {state})"))
    return found
