"""Azure's naming rules for scale-set VMs, kept with the scale-set adapter (as cluster-autoscaler
keeps them in its Azure ScaleSet, `Belongs(node)`): the providerID a VMSS VM's Node carries,
the VM name ARM gives an instance, and case-insensitive name comparison.

Pure and SDK-free, so the in-memory ScaleSet fake follows exactly the same rules.
"""
from __future__ import annotations

import re

from nodepool.core.model import ProviderClaim, same_scale_set

_PROVIDER_ID = re.compile(r"^azure://.*/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)$", re.IGNORECASE)


def vm_name(scale_set: str, instance_id: str) -> str:
    """ARM names a scale-set VM `<scale set>_<instanceId>` (what IMDS lists in an event's Resources)."""
    return f"{scale_set}_{instance_id}"


def claim(scale_set: str, provider_id: str) -> ProviderClaim:
    """What a Node's providerID says about `scale_set`: ours (with the instance id), another's, or nothing
    (k3s://..., empty: the Node must be matched some other way)."""
    match = _PROVIDER_ID.match(provider_id or "")
    if not match:
        return ProviderClaim(None)
    return ProviderClaim(same_scale_set(match.group(1), scale_set), match.group(2))
