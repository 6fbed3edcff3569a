"""Kubernetes resource quantities ("500m", "2Gi") as numbers: read by the Kube adapter and its fake.

Quantities follow the API's suffixes (m, Ki, Mi, Gi, k, M, G ...); a malformed one counts
as zero rather than failing a whole listing.
"""
from __future__ import annotations

import re

_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {"": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}


def quantity(raw) -> float:
    match = _QUANTITY.match(str(raw).strip())
    if not match or match.group(2) not in _SUFFIX:
        return 0.0
    return float(match.group(1)) * _SUFFIX[match.group(2)]
