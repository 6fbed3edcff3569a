"""Evidence that a VM is gone. Absence from one listing is not evidence; these are:
- ARM answering 404 to a GET of that very instance (the service asks for the ids in `probe`,
  oldest first, at most `policy.max_probes_per_tick` a tick, and plans again with the answers);
- absence from every listing for `policy.ghost_hold`, counting only listings that matched the
  scale set's capacity (when a GET could not be made: no instance id known, ARM throttled,
  the probe budget spent).
A GET that finds an instance the listing lacked proves the listing short: `contradicted`.
Both need ARM's capacity read this tick: it proves the scale set itself exists, so a 404 is
about the instance (ARM also answers NotFound for a VM of a scale set that is not there).

Candidates are our NotReady Nodes whose VM is not listed (ghosts) and live registry rows with
neither Node nor VM; nodes with a drain in flight are left to the drain.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodepool.core.model import Node, NodeState
from nodepool.reconcile.model import Policy
from nodepool.reconcile.view import View


def ghost_instance_id(view: View, node: Node) -> str:
    claim, row = view.obs.claim(node), view.rows.get(node.name)
    return claim.instance_id if claim.ours else (row.instance_id if row else "")


@dataclass(frozen=True)
class Absence:
    candidates: dict[str, str]  # node name -> instance id ("" when unknown)
    missing: dict[str, datetime]  # node name -> absent from trusted listings since (for the next state)
    probed: dict[str, bool]
    vouched: bool  # ARM's capacity was read this tick: GETs may be asked, and their 404s count
    trusted: bool  # ... and the listings were confirmed: the hold time counts
    now: datetime
    policy: Policy

    def gone(self, name: str) -> str | None:
        """Why we know the VM behind `name` is gone, or None (then nothing destructive is done)."""
        iid = self.candidates.get(name, "")
        if iid and self.vouched and self.probed.get(iid) is False:
            return f"ARM answers 404 for instance {iid}"
        since = self.missing.get(name)
        if self.trusted and since is not None and self.now - since >= self.policy.ghost_hold:
            return f"absent from every listing since {since.isoformat()}"
        return None

    @property
    def contradicted(self) -> list[str]:
        return sorted(iid for iid in self.candidates.values() if iid and self.probed.get(iid) is True)

    @property
    def probe(self) -> tuple[str, ...]:
        if not self.vouched:
            return ()
        waiting = sorted((self.missing.get(name, self.now), iid) for name, iid in self.candidates.items()
                         if iid and iid not in self.probed and self.gone(name) is None)
        return tuple(dict.fromkeys(iid for _, iid in waiting))[: self.policy.max_probes_per_tick]


def absences(view: View, now: datetime, policy: Policy, vouched: bool, trusted: bool) -> Absence:
    candidates = {n.name: ghost_instance_id(view, n) for n in view.ghosts if n.name not in view.draining}
    for name in sorted(view.rows.keys() - view.nodes.keys()):
        row = view.rows[name]
        if (row.state is not NodeState.DELETED and name not in view.draining
                and view.instance_of_row(name, row.instance_id) is None):
            candidates.setdefault(name, row.instance_id)
    old = view.state.missing
    missing = {n: old.get(n, now) for n in candidates} if trusted else {n: old[n] for n in candidates if n in old}
    return Absence(candidates, missing, view.obs.probed, vouched, vouched and trusted, now, policy)
