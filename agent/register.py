"""`register` (master): hand the cluster's coordinates and credentials to POST /api/cluster.

Secrets are read from files (never argv, never logged): the control plane's ServiceAccount token
and the k3s agent token. Re-running it rotates what the control plane holds. Each attempt proves
it comes from the master VM: a nonce from POST /api/cluster/nonce, IMDS's attested document for it.

The agent token must be one of its own (k3s `agent-token`): without one, k3s writes agent-token as
a link to the server token, which is full cluster admin and the passphrase of the bootstrap data,
and that never leaves the master.
"""
from __future__ import annotations

import logging
import os

from agent import cahash
from agent.api import Api
from agent.backoff import GaveUp, retry
from agent.httpjson import Reply, Unreachable
from agent.imds import Imds, ImdsError
from agent.join import prove
from agent.runtime import Runtime

log = logging.getLogger("agent.register")


def ca_hash(ca_pem: bytes) -> str:
    """What k3s pins in K10<hash>:: tokens for the CA bundle served at /cacerts (agent/cahash.py)."""
    return cahash.ca_hash(ca_pem)


def registration(server: str, ca_pem: bytes, credential: str, agent_token: str, k3s_version: str) -> dict:
    return {"server": server, "ca_hash": ca_hash(ca_pem), "ca_cert": ca_pem.decode("ascii"),
            "credential": credential, "agent_token": agent_token, "k3s_version": k3s_version}


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _server_token(path: str) -> str | None:
    try:
        return _read(path).decode().strip() or None
    except OSError:
        return None  # not there to compare with: the link test above still holds


def attested_registration(api: Api, imds: Imds, body: dict) -> Reply:
    """One attempt: a fresh nonce, the master VM's attested document for it, the registration."""
    challenge = api.cluster_nonce()
    document = prove(challenge, imds)
    return challenge if document is None else api.cluster({**body, "attested": document})


def run(cfg, api: Api, imds: Imds, rt: Runtime) -> int:
    try:
        ca_pem = _read(cfg.ca_file)
        credential = _read(cfg.credential_file).decode().strip()
        agent_token = _read(cfg.agent_token_file).decode().strip()
    except OSError as err:
        log.error("cannot read what to register: %s", err)
        return 1
    rt.redactor.add(credential, agent_token)
    if os.path.islink(cfg.agent_token_file) or agent_token == _server_token(cfg.server_token_file):
        log.error("%s is the k3s server token, not an agent token of its own: not registered (set agent-token "
                  "in the k3s config, as nodepool-agent-token does)", cfg.agent_token_file)
        return 1
    server = cfg.server_url
    if not server:
        try:
            server = "https://%s:6443" % imds.private_ip()
        except (Unreachable, ImdsError) as err:
            log.error("no --server-url and no private IP from IMDS: %s", err)
            return 1
    body = registration(server, ca_pem, credential, agent_token, cfg.k3s_version)
    try:
        reply = retry(lambda: attested_registration(api, imds, body), what="POST /api/cluster",
                      budget=cfg.register_timeout, clock=rt.clock, sleep=rt.sleep, rand=rt.rand)
    except GaveUp as err:
        log.error("%s", err)
        return 1
    if not reply.ok:
        log.error("registration refused: %s", reply.error())
        return 1
    log.info("registered %s (CA %s..., k3s %s)", server, body["ca_hash"][:12], cfg.k3s_version or "?")
    return 0
