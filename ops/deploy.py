"""Deployments of storage.bicep and compute.bicep into their resource groups, watching, destroying.

Before a deployment starts: the parameter file must fit the template, ARM validates it (every error
one line), and compute first registers Microsoft.App (Flex VNet integration needs it and ARM
registers only the providers of the template's own types). Pools deploy at capacity 0; after
compute succeeds the first pool is asked for AGENT_COUNT, and a refusal (no spot capacity, quota)
is a warning the autoscaler recovers from, not a failed deployment.
"""
from __future__ import annotations

import time
from pathlib import Path

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ops import bicep
from ops import params as P
from ops.arm import Azure, text
from ops.arm_checks import validate, what_if
from ops.errors import OpsError

OUT = P.ROOT / ".run" / "arm"
NAMES = {"storage": "storage", "compute": "compute"}  # deployment name per template
FLEX_PROVIDER = "Microsoft.App"
REGISTER_WAIT_S = 600.0  # registration takes minutes on a fresh subscription


def group_of(az: Azure, which: str) -> str:
    return az.config.storage_group if which == "storage" else az.config["COMPUTE_GROUP"]


def deploy(az: Azure, which: str, template: dict | None = None, out: Path = OUT, wait: bool = True, say=print,
           preview: bool = False, register_interval: float = 5.0):
    """Create the group when needed, have ARM validate, then start (and by default wait for) the
    deployment. `preview`: print ARM's what-if instead and deploy nothing."""
    parameters = P.load(which, out)
    template = template if template is not None else bicep.template(which, out)
    declared = set(template.get("parameters", {}))
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise OpsError(f"{which}.parameters.json has values the template does not declare: {', '.join(unknown)}")
    group, cfg = group_of(az, which), az.config
    az.resources.resource_groups.create_or_update(group, {"location": cfg["LOCATION"], "tags": {"nodepool": which}})
    body = {"properties": {"mode": "Incremental", "template": template, "parameters": parameters}}
    validate(az, group, NAMES[which], body)
    say(f"{which}: ARM's validation passed")
    if preview:
        for line in what_if(az, group, NAMES[which], body):
            say(f"  {line}")
        say(f"{which}: what-if only; nothing deployed")
        return None
    if which == "compute":
        register(az, FLEX_PROVIDER, interval=register_interval, say=say)
    say(f"deploying {which} into {group} ({cfg['LOCATION']})")
    poller = az.deployments.deployments.begin_create_or_update(group, NAMES[which], body)
    if not wait:
        return None
    try:
        result = poller.result()
    except HttpResponseError as err:  # ARM reports a failed deployment through its async operation
        message = err.error.message if err.error else str(err).splitlines()[0]
        raise OpsError(f"deployment {which} ended Failed ({message}); details: "
                       f"python3 tasks.py view-deployment --which {which}") from None
    state = text(result.properties.provisioning_state)
    if state != "Succeeded":
        raise OpsError(f"deployment {which} ended {state}: python3 tasks.py view-deployment --which {which}")
    say(f"{which}: {state}")
    if which == "compute":
        first_capacity(az, say)
    return result.properties.outputs or {}


def register(az: Azure, namespace: str, interval: float = 5.0, timeout: float = REGISTER_WAIT_S, say=print) -> None:
    """Register a resource provider and wait until ARM says Registered (bounded)."""
    providers = az.resources.providers
    if text(providers.get(namespace).registration_state) == "Registered":
        return
    say(f"registering resource provider {namespace} (Flex VNet integration needs it; minutes on a new subscription)")
    providers.register(namespace)
    deadline = time.monotonic() + timeout
    while (state := text(providers.get(namespace).registration_state)) != "Registered":
        if time.monotonic() > deadline:
            raise OpsError(f"{namespace} still {state} after {timeout:.0f}s: `az provider show -n {namespace}`; "
                           "run deploy-compute again once it is Registered")
        time.sleep(interval)
    say(f"{namespace}: Registered")


def first_capacity(az: Azure, say=print) -> None:
    """Ask the first pool for AGENT_COUNT after the deployment, so missing spot capacity or quota costs a
    warning, not the deployment."""
    from ops.agents import scale

    count = az.config.number("AGENT_COUNT")
    if count <= 0:
        return
    try:
        scale(az, count, pool="agents", say=say)
    except (HttpResponseError, OpsError) as err:
        reason = err.error.code if isinstance(err, HttpResponseError) and err.error else str(err).splitlines()[0]
        say(f"warning: pool agents did not grow to {count} ({reason}); the autoscaler keeps trying, and falls back "
            "to the Regular pool when spot has no capacity")


def outputs(az: Azure, which: str) -> dict:
    """Output values of the last deployment of `which` (what list-agents, publish... read)."""
    try:
        result = az.deployments.deployments.get(group_of(az, which), NAMES[which])
    except ResourceNotFoundError:
        raise OpsError(f"no {which} deployment in {group_of(az, which)}: "
                       f"run `python3 tasks.py deploy-{which}` first") from None
    return {k: v.get("value") for k, v in (result.properties.outputs or {}).items()}


def operations(az: Azure, which: str) -> list[tuple[str, str, str]]:
    """(resource, state, status code) per deployment operation."""
    rows = []
    for op in az.deployments.deployment_operations.list(group_of(az, which), NAMES[which]):
        props = op.properties
        target = props.target_resource
        name = f"{target.resource_type}/{target.resource_name}" if target else "(deployment)"
        rows.append((name, text(props.provisioning_state), str(props.status_code or "")))
    return rows


def view(az: Azure, which: str, say=print) -> str:
    try:
        result = az.deployments.deployments.get(group_of(az, which), NAMES[which])
    except ResourceNotFoundError:
        raise OpsError(f"no {which} deployment in {group_of(az, which)}") from None
    state = text(result.properties.provisioning_state)
    say(f"{which} in {group_of(az, which)}: {state} (started {result.properties.timestamp})")
    for name, op_state, code in operations(az, which):
        say(f"  {op_state:<10} {code:<8} {name}")
    return state


def watch(az: Azure, which: str, interval: float = 5.0, timeout: float = 3600.0, say=print) -> str:
    """Print each operation as it changes until the deployment is no longer running."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        state = text(az.deployments.deployments.get(group_of(az, which), NAMES[which]).properties.provisioning_state)
        for name, op_state, code in operations(az, which):
            if seen.get(name) != op_state:
                seen[name] = op_state
                say(f"  {op_state:<10} {code:<8} {name}")
        if state not in ("Accepted", "Running", "Creating", "Updating", "Deploying", "Validating"):
            say(f"{which}: {state}")
            return state
        if time.monotonic() > deadline:
            raise OpsError(f"{which} still {state} after {timeout:.0f}s")
        time.sleep(interval)


def destroy(az: Azure, group: str, wait: bool = True, say=print) -> None:
    if not az.resources.resource_groups.check_existence(group):
        say(f"{group} does not exist; nothing to destroy")
        return
    say(f"deleting resource group {group}")
    poller = az.resources.resource_groups.begin_delete(group)
    if wait:
        poller.result()
        say(f"{group} deleted")


def forget_storage_access(az: Azure, say=print) -> list[str]:
    """Delete the role assignments the compute deployment made in the storage group (the master's and
    agents' listKeys and Key Vault Secrets User): deleting the compute group deletes their identities,
    and the assignments would stay behind as "Identity not found"."""
    try:
        ids = outputs(az, "compute").get("storageGroupAssignmentIds") or []
    except OpsError:
        return []  # no compute deployment: nothing of ours there
    deleted = []
    for rid in ids if isinstance(ids, list) else []:
        try:
            if az.authorization.role_assignments.delete_by_id(rid) is not None:
                deleted.append(rid)
        except ResourceNotFoundError:
            continue
    if deleted:
        say(f"removed {len(deleted)} role assignment(s) of the compute identities from {az.config.storage_group}")
    return deleted
