"""What a simulated VM proves about itself, as its agent does: an attested join or registration.

The nonce comes from the app, the attested document from that VM's IMDS in the simulator (through
the agent's own IMDS client), and the node credential the join returns is kept per hostname for
the VM's later calls (leave, events, its status polls). `vm` may differ from `hostname`: that is
a VM trying to pass for another, as the security tests and bench do.
"""
from __future__ import annotations

from typing import Callable

import requests

from agent.imds import Imds

NODE_CREDENTIAL_HEADER = "X-Node-Credential"
MASTER_VM = "master0"

Call = Callable[..., requests.Response]  # LocalStack.call's shape


def document(sim, vm: str, nonce: str) -> dict:
    """The attested document `vm`'s IMDS signs for `nonce`."""
    return Imds(sim.imds_for(vm), timeout=5.0).attested(nonce)


class NodeIdentities:
    def __init__(self, sim, call: Call, credentials: dict[str, str]):
        self.sim, self.call, self.credentials = sim, call, credentials

    def join(self, hostname: str, *, vm: str | None = None, body: dict | None = None, **kwargs) -> requests.Response:
        """POST /api/join as `vm` (default: the VM named `hostname`), attested for a fresh nonce. A
        refused nonce request is the answer (an instance not visible yet, a bad token)."""
        challenge = self.call("POST", "join/nonce", who="agent", body={"hostname": hostname}, **kwargs)
        if not challenge.ok:
            return challenge
        attested = document(self.sim, vm or hostname, challenge.json()["nonce"])
        response = self.call("POST", "join", who="agent", body={"hostname": hostname, **(body or {}),
                                                               "attested": attested}, **kwargs)
        if response.ok and vm in (None, hostname):
            self.credentials[hostname] = response.json()["node_credential"]
        return response

    def headers(self, hostname: str, credential: str | None = None) -> dict[str, str]:
        """The node credential header of `hostname`'s VM (or `credential`), when there is one."""
        value = credential or self.credentials.get(hostname)
        return {NODE_CREDENTIAL_HEADER: value} if value else {}

    def register(self, registration: dict, *, vm: str = MASTER_VM, **kwargs) -> requests.Response:
        """POST /api/cluster as master cloud-init does, attested by `vm`'s IMDS."""
        challenge = self.call("POST", "cluster/nonce", who="master", body={}, **kwargs)
        if not challenge.ok:
            return challenge
        attested = document(self.sim, vm, challenge.json()["nonce"])
        return self.call("POST", "cluster", who="master", body={**registration, "attested": attested}, **kwargs)
