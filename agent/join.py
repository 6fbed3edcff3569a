"""`join`: prove which VM this is, ask the control plane for a join token, write the k3s agent
config, start k3s.

The proof: a nonce from `POST /api/join/nonce`, IMDS's attested document for that nonce (a
PKCS7 signed by Azure naming this vmId), sent with the join. Each attempt starts over with a new
nonce, since a nonce is single use and short-lived. The join answer's `node_credential` is kept
in a root-only file for leave, watch and the status polls.
"""
from __future__ import annotations

import logging
import os
import shlex
import subprocess

from agent import k3sconfig
from agent.api import Api
from agent.backoff import GaveUp, retry
from agent.credential import NodeCredential
from agent.httpjson import Reply, Unreachable
from agent.imds import Imds, ImdsError
from agent.runtime import Runtime

log = logging.getLogger("agent.join")


def vm_id(imds: Imds) -> str:
    """This VM's vmId, best effort: the control plane accepts a join without it."""
    try:
        value = imds.compute().get("vmId")
    except (Unreachable, ImdsError) as err:
        log.warning("no vmId from IMDS (%s); joining without it", err)
        return ""
    return value if isinstance(value, str) else ""


def fresh_disk(password_file: str) -> bool:
    """No k3s node password on this disk yet: k3s writes it on its first start (new VM, reimaged disk)."""
    return not os.path.exists(password_file)


def prove(challenge: Reply, imds: Imds) -> dict | None:
    """IMDS's attested document for the nonce `challenge` carries; None when the challenge itself was
    refused (the caller returns that reply). IMDS failures are transient (the caller retries)."""
    if not challenge.ok:
        return None
    answer = challenge.data()
    nonce = answer.get("nonce") if isinstance(answer, dict) else None
    if not isinstance(nonce, str) or not nonce:
        raise Unreachable("the control plane answered without a nonce")
    try:
        return imds.attested(nonce)
    except ImdsError as err:
        raise Unreachable(str(err)) from None


def attested_join(api: Api, imds: Imds, hostname: str, vid: str, fresh: bool) -> Reply:
    """One join attempt with a fresh nonce and document."""
    challenge = api.nonce(hostname)
    document = prove(challenge, imds)
    return challenge if document is None else api.join(hostname, vid, fresh, attested=document)


def keep_credential(answer: dict, credential: NodeCredential | None) -> None:
    value = answer.get("node_credential")
    if credential is None or not value:
        return
    if not isinstance(value, str):
        raise ValueError("node_credential is not a string")
    credential.save(value)
    log.info("stored the node credential in %s", credential.path)


def run(cfg, api: Api, imds: Imds, rt: Runtime) -> int:
    hostname = cfg.node_name
    vid = vm_id(imds)
    fresh = fresh_disk(cfg.node_password_file)
    log.info("joining as %s (vmId %s, %s) through %s", hostname, vid or "unknown",
             "fresh disk: no %s yet" % cfg.node_password_file if fresh else "k3s node password present",
             cfg.api_url)
    try:
        reply = retry(lambda: attested_join(api, imds, hostname, vid, fresh), what="POST /api/join",
                      budget=cfg.join_timeout, clock=rt.clock, sleep=rt.sleep, rand=rt.rand)
    except GaveUp as err:
        log.error("%s", err)
        return 1
    if not reply.ok:
        log.error("join refused: %s", reply.error())
        return 1
    try:
        answer = reply.json()
        rt.redactor.add(answer.get("token"), answer.get("node_credential"))
        text, dropped = k3sconfig.render(answer, hostname, cfg.extra_labels)
        keep_credential(answer, api.credential)
    except (ValueError, AttributeError, OSError) as err:
        log.error("unusable join response: %s", err)
        return 1
    if dropped:
        log.warning("labels the kubelet may not set on itself, left to the control plane: %s", ", ".join(dropped))
    version = answer.get("k3s_version")
    if cfg.k3s_version and version and version != cfg.k3s_version:
        log.warning("cluster runs k3s %s but this node installed %s", version, cfg.k3s_version)
    k3sconfig.write_private(cfg.k3s_config, text)
    log.info("wrote %s (server %s, token expires %s)", cfg.k3s_config, answer.get("server"),
             answer.get("expires_at", "?"))
    return start_k3s(cfg.start_command)


def start_k3s(command: str) -> int:
    if not command.strip():
        log.info("no start command configured; not starting k3s")
        return 0
    try:
        done = subprocess.run(shlex.split(command), timeout=120, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        log.error("starting k3s with %r failed: %s", command, err)
        return 1
    if done.returncode != 0:
        log.error("starting k3s with %r exited %d", command, done.returncode)
        return 1
    log.info("started k3s: %s", command)
    return 0
