"""ARM's own checks of a compiled template, before anything is created: validate (ARM's preflight:
parameters, names, quotas, policies, every error ARM would raise at the start) and what-if (the
changes a deployment would make). Their answers become one line per error or change.
"""
from __future__ import annotations

from azure.core.exceptions import HttpResponseError

from ops.arm import Azure, text
from ops.errors import OpsError


def error_lines(error) -> list[str]:
    """ARM's nested error (code, message, details...) flattened to its innermost causes, one a line."""
    if error is None:
        return []
    details = list(getattr(error, "details", None) or [])
    if not details:
        target = getattr(error, "target", None)
        return [f"{error.code}: {error.message}" + (f" (target {target})" if target else "")]
    return [line for detail in details for line in error_lines(detail)]


def validate(az: Azure, group: str, name: str, body: dict) -> None:
    """Raise OpsError listing every error ARM's validation finds; return quietly when there is none."""
    try:
        result = az.deployments.deployments.begin_validate(group, name, body).result()
    except HttpResponseError as err:  # a 400 a poller raises instead of returning
        lines = error_lines(err.error) or [str(err).splitlines()[0]]
    else:
        lines = error_lines(result.error) if result is not None and result.error else []
    if lines:
        raise OpsError(f"ARM's validation refused the {name} template:\n  " + "\n  ".join(lines))


def what_if(az: Azure, group: str, name: str, body: dict) -> list[str]:
    """One line per resource: the change a deployment would make (Create, Modify, NoChange...)."""
    result = az.deployments.deployments.begin_what_if(group, name, {"properties": body["properties"]}).result()
    if result.error:
        raise OpsError("ARM's what-if failed:\n  " + "\n  ".join(error_lines(result.error)))
    return [f"{text(change.change_type):<10} {change.resource_id}" for change in result.changes or []]
