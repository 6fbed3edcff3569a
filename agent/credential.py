"""The node credential: minted by the control plane on an attested join, kept in a root-only file.

`join` writes it (mode 0600, atomically); `leave`, `watch` and the status polls send it as
`X-Node-Credential`, so the control plane acts for this VM only on this VM's own node. Each
command is its own process, so the file is read on every use: a re-join rotates the credential
and a running watcher picks up the new one at its next call.
"""
from __future__ import annotations

from agent.k3sconfig import write_private
from agent.log import Redactor

HEADER = "X-Node-Credential"
DEFAULT_PATH = "/var/lib/nodepool/node-credential"


class NodeCredential:
    def __init__(self, path: str, redactor: Redactor):
        self.path, self.redactor = path, redactor

    def get(self) -> str:
        """The stored credential, or "" when there is none (never joined with attestation)."""
        if not self.path:
            return ""
        try:
            with open(self.path, encoding="utf-8") as handle:
                value = handle.read().strip()
        except FileNotFoundError:
            return ""
        self.redactor.add(value)
        return value

    def save(self, value: str) -> None:
        self.redactor.add(value)
        write_private(self.path, value + "\n")
