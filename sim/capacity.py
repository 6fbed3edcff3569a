"""Capacity Azure does not have right now: scale-outs refused the way ARM refuses them.

A capacity write ARM cannot serve is answered 409 with ARM's error body, `{"error": {"code",
"message"}}`, the code naming why (azure-core parses it into HttpResponseError.error.code):
- SkuNotAvailable: the size is not offered for this priority (spot) or zone now;
- OperationNotAllowed with a quota message: the subscription's (LowPriority) core quota is used up;
- AllocationFailed / ZonalAllocationFailed / OverconstrainedAllocationRequest: no hardware left.
The messages below are the ones Azure sends (aka.ms links included), so client code that
looks at codes or messages meets what it would meet in Azure. An outage lasts `count` writes,
`seconds`, or until `restore()`; scale-ins and other writes are never refused by it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

MESSAGES = {
    "SkuNotAvailable": ("The requested VM size for resource '{id}' is currently not available in location "
                        "'{location}' zones '' for subscription '{subscription}'. Please try another size or deploy "
                        "to a different location or zones. See https://aka.ms/azureskunotavailable for details."),
    "OperationNotAllowed": ("Operation could not be completed as it results in exceeding approved LowPriorityCores "
                            "quota. Additional details - Deployment Model: Resource Manager, Location: {location}, "
                            "Current Limit: 10, Current Usage: 10, Additional Required: 4. Please read more about "
                            "quota limits at https://docs.microsoft.com/en-us/azure/azure-supportability/"
                            "per-vm-quota-requests"),
    "AllocationFailed": ("Allocation failed. We do not have sufficient capacity for the requested VM size in this "
                         "region. Read more about improving likelihood of allocation success at "
                         "http://aka.ms/allocation-guidance"),
    "ZonalAllocationFailed": ("Allocation failed. We do not have sufficient capacity for the requested VM size in "
                              "this zone. Read more about improving likelihood of allocation success at "
                              "http://aka.ms/allocation-guidance"),
    "OverconstrainedAllocationRequest": ("Allocation failed. VM(s) with the following constraints cannot be "
                                         "allocated, because the condition is too restrictive. Please remove some "
                                         "constraints and try again."),
}


@dataclass
class Outage:
    code: str
    count: int | None = None
    until: float | None = None
    accepted: bool = False  # the write is accepted; its new VMs then end in provisioning state Failed


class Capacity:
    """One scale set's capacity: `refusal(...)` says what ARM answers a scale-out now, if anything."""

    def __init__(self, clock):
        self.clock, self.outage, self.refused = clock, None, 0
        self._lock = threading.Lock()

    def refuse(self, code: str = "SkuNotAvailable", *, count: int | None = None, seconds: float | None = None,
               accepted: bool = False) -> None:
        """`accepted`: as Azure does with allocation failures, take the write, then fail its new VMs (their
        provisioning state Failed, the write's operation Failed with `code`) once they would have booted."""
        if code not in MESSAGES:
            raise ValueError(f"unknown capacity error {code!r}; known: {', '.join(MESSAGES)}")
        with self._lock:
            self.outage = Outage(code, count, self.clock() + seconds if seconds is not None else None, accepted)

    def restore(self) -> None:
        with self._lock:
            self.outage = None

    def refusal(self, config) -> tuple[str, str, bool] | None:
        """(code, message, accepted) when a scale-out must fail now; counts it."""
        with self._lock:
            o = self.outage
            if o is None or (o.until is not None and self.clock() >= o.until) or o.count == 0:
                self.outage = None
                return None
            if o.count is not None:
                o.count -= 1
            self.refused += 1
        return o.code, MESSAGES[o.code].format(id=config.scale_set_id, location=config.location,
                                               subscription=config.subscription), o.accepted
