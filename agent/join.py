"""`join`: ask the control plane for a join token, write the k3s agent config, start k3s."""
from __future__ import annotations

import logging
import os
import shlex
import subprocess

from agent import k3sconfig
from agent.api import Api
from agent.backoff import GaveUp, retry
from agent.httpjson import Unreachable
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


def run(cfg, api: Api, imds: Imds, rt: Runtime) -> int:
    hostname = cfg.node_name
    vid = vm_id(imds)
    fresh = fresh_disk(cfg.node_password_file)
    log.info("joining as %s (vmId %s, %s) through %s", hostname, vid or "unknown",
             "fresh disk: no %s yet" % cfg.node_password_file if fresh else "k3s node password present",
             cfg.api_url)
    try:
        reply = retry(lambda: api.join(hostname, vid, fresh), what="POST /api/join", budget=cfg.join_timeout,
                      clock=rt.clock, sleep=rt.sleep, rand=rt.rand)
    except GaveUp as err:
        log.error("%s", err)
        return 1
    if not reply.ok:
        log.error("join refused: %s", reply.error())
        return 1
    try:
        answer = reply.json()
        rt.redactor.add(answer.get("token"))
        text, dropped = k3sconfig.render(answer, hostname, cfg.extra_labels)
    except (ValueError, AttributeError) as err:
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
