"""Deployments of storage.bicep and compute.bicep into their resource groups, watching, destroying."""
from __future__ import annotations

import time
from pathlib import Path

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ops import bicep
from ops import params as P
from ops.arm import Azure, text
from ops.errors import OpsError

OUT = P.ROOT / ".run" / "arm"
NAMES = {"storage": "storage", "compute": "compute"}  # deployment name per template


def group_of(az: Azure, which: str) -> str:
    return az.config.storage_group if which == "storage" else az.config["COMPUTE_GROUP"]


def deploy(az: Azure, which: str, template: dict | None = None, out: Path = OUT, wait: bool = True, say=print):
    """Create the group when needed, then start (and by default wait for) the deployment."""
    parameters = P.load(which, out)
    template = template if template is not None else bicep.template(which, out)
    declared = set(template.get("parameters", {}))
    unknown = sorted(set(parameters) - declared)
    if unknown:
        raise OpsError(f"{which}.parameters.json has values the template does not declare: {', '.join(unknown)}")
    group, cfg = group_of(az, which), az.config
    az.resources.resource_groups.create_or_update(group, {"location": cfg["LOCATION"], "tags": {"nodepool": which}})
    say(f"deploying {which} into {group} ({cfg['LOCATION']})")
    body = {"properties": {"mode": "Incremental", "template": template, "parameters": parameters}}
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
    return result.properties.outputs or {}


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
