"""What a VM size name alone says about Spot: Microsoft's "Limitations" of Azure Spot VMs (use-spot.md,
spot-vms.md): "The following sizes aren't supported for Azure Spot Virtual Machines: B-series; Promo
versions of any size". Offline only: `preflight` reads the region's real `LowPriorityCapable`."""
from __future__ import annotations

import re

_NEVER_SPOT = ((re.compile(r"^Standard_B\d", re.IGNORECASE), "B-series"),
               (re.compile(r"_Promo$", re.IGNORECASE), "Promo sizes"))


def spot_refusal(size: str) -> str:
    """Why Azure refuses `size` for a Spot pool ("" when its name does not say)."""
    for pattern, family in _NEVER_SPOT:
        if pattern.search(size.strip()):
            return (f"{size} cannot run Spot ({family} are not offered as Spot VMs): pick a size whose "
                    "LowPriorityCapable is True, e.g. Standard_D2as_v5 (`python3 tasks.py preflight` checks it "
                    "in your region), or set AGENT_PRIORITY=Regular")
    return ""
