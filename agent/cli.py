"""`python3 -m agent COMMAND` (or `python3 agent.pyz COMMAND`): join | leave | watch | register |
storage-credentials. Every knob is a flag with an environment fallback (NODEPOOL_*), so the
systemd units read one EnvironmentFile and tests pass flags. Secrets are never flags (argv is
world-readable in /proc): the function key comes from NODEPOOL_FUNCTION_KEY, a file or Key Vault.
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from typing import Any, Callable, Mapping

from agent import __version__, join, leave, register, storage, watch
from agent import log as logsetup
from agent.api import Api, FunctionKey
from agent.backoff import GaveUp, retry
from agent.credential import DEFAULT_PATH, NodeCredential
from agent.imds import INSTANCE_API, Imds, TokenSource
from agent.runtime import Runtime

API = ("join", "leave", "watch", "register")
NODE = ("join", "leave", "watch")
ALL = API + ("storage-credentials",)


def _csv(raw: str) -> list:
    return [item.strip() for item in raw.split(",") if item.strip()]


# flag, environment variable, default, type, commands, help
KNOBS: list[tuple[str, str, Any, Callable[[str], Any], tuple[str, ...], str]] = [
    ("--imds-url", "NODEPOOL_IMDS_URL", "http://169.254.169.254", str, ALL,
     "IMDS base URL (the simulator serves each VM under http://127.0.0.1:PORT/vms/NAME)"),
    ("--identity-client-id", "NODEPOOL_IDENTITY_CLIENT_ID", "", str, ALL,
     "client id of the user-assigned managed identity (empty: the VM's only identity)"),
    ("--http-timeout", "NODEPOOL_HTTP_TIMEOUT", 5.0, float, ALL, "seconds per HTTP request"),
    ("--api-url", "NODEPOOL_API_URL", "", str, API, "control-plane API root, e.g. https://APP.azurewebsites.net/api"),
    ("--audience", "NODEPOOL_AUDIENCE", "api://nodepool", str, API,
     "resource (audience) of the identity token the API verifies"),
    ("--function-key-file", "NODEPOOL_FUNCTION_KEY_FILE", "", str, API, "file holding the function key"),
    ("--function-key-uri", "NODEPOOL_FUNCTION_KEY_URI", "", str, API,
     "Key Vault secret URI holding the function key, read with the identity"),
    ("--node-name", "NODEPOOL_NODE_NAME", "", str, NODE, "node name (default: this host's name)"),
    ("--node-credential-file", "NODEPOOL_NODE_CREDENTIAL_FILE", DEFAULT_PATH, str, NODE,
     "where join keeps the node credential from its attested join (root only); leave and watch send it"),
    ("--k3s-config", "NODEPOOL_K3S_CONFIG", "/etc/rancher/k3s/config.yaml", str, ("join",), "k3s config to write"),
    ("--start-command", "NODEPOOL_K3S_START", "systemctl restart --no-block k3s-agent.service", str, ("join",),
     "command that starts k3s after the config is written (empty: none)"),
    ("--node-password-file", "NODEPOOL_NODE_PASSWORD_FILE", "/etc/rancher/node/password", str, ("join",),
     "k3s's node password; when absent the disk is fresh and the control plane clears a stale Node"),
    ("--join-timeout", "NODEPOOL_JOIN_TIMEOUT", 600.0, float, ("join",), "give up joining after this many seconds"),
    ("--extra-labels", "NODEPOOL_EXTRA_LABELS", [], _csv, ("join",), "comma-separated key=value node labels to add"),
    ("--k3s-version", "NODEPOOL_K3S_VERSION", "", str, ("join", "register"), "the k3s version installed here"),
    ("--leave-timeout", "NODEPOOL_LEAVE_TIMEOUT", 90.0, float, ("leave",), "wait at most this long for the drain"),
    ("--poll-interval", "NODEPOOL_POLL_INTERVAL", watch.POLL_S, float, ("watch",), "seconds between IMDS polls"),
    ("--instance-name", "NODEPOOL_INSTANCE_NAME", "", str, ("watch",),
     "name in scheduled events' Resources (default: IMDS compute.name)"),
    ("--server-url", "NODEPOOL_SERVER_URL", "", str, ("register",), "k3s API URL (default: https://PRIVATE_IP:6443)"),
    ("--ca-file", "NODEPOOL_CA_FILE", "/var/lib/rancher/k3s/server/tls/server-ca.crt", str, ("register",), "CA"),
    ("--credential-file", "NODEPOOL_CREDENTIAL_FILE", "/run/nodepool/credential", str, ("register",),
     "the control plane's ServiceAccount token"),
    ("--agent-token-file", "NODEPOOL_AGENT_TOKEN_FILE", "/var/lib/rancher/k3s/server/agent-token", str,
     ("register",), "k3s agent token (the control plane's fallback): a distinct one, never the server token"),
    ("--server-token-file", "NODEPOOL_SERVER_TOKEN_FILE", "/var/lib/rancher/k3s/server/token", str,
     ("register",), "k3s server token: read only to refuse an agent token that is the same (never sent)"),
    ("--register-timeout", "NODEPOOL_REGISTER_TIMEOUT", 600.0, float, ("register",), "give up after this long"),
    ("--arm-url", "NODEPOOL_ARM_URL", "https://management.azure.com", str, ("storage-credentials",), "ARM endpoint"),
    ("--account-id", "NODEPOOL_STORAGE_ACCOUNT_ID", "", str, ("storage-credentials",),
     "ARM resource id of the storage account holding the /srv share"),
    ("--out", "NODEPOOL_STORAGE_CREDENTIALS", "", str, ("storage-credentials",),
     "credentials file to write (default /etc/smbcredentials/ACCOUNT.cred)"),
    ("--storage-timeout", "NODEPOOL_STORAGE_TIMEOUT", 300.0, float, ("storage-credentials",),
     "give up after this long"),
]

HELP = {
    "join": "get a join token from POST /api/join, write the k3s agent config, start k3s",
    "leave": "POST /api/leave and wait (bounded) for the drain; for ExecStop at shutdown",
    "watch": "poll IMDS scheduled events, forward ours, acknowledge after the drain or at the deadline",
    "register": "master: register the cluster with POST /api/cluster",
    "storage-credentials": "fetch the /srv share key with the identity and write the mount credentials file",
}


def parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="nodepool-agent", description=__doc__.split("\n\n")[0])
    top.add_argument("--version", action="version", version=__version__)
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name in ALL:
        sub = commands.add_parser(name, help=HELP[name], description=HELP[name])
        sub.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        for flag, var, default, kind, where, text in KNOBS:
            if name in where:
                raw = env.get(var)
                value = default if raw in (None, "") else kind(raw)
                sub.add_argument(flag, default=value, type=kind, help="%s [env %s]" % (text, var))
    return top


def main(argv: list | None = None, env: Mapping[str, str] | None = None, rt: Runtime | None = None,
         stream: Any = None) -> int:
    """Run one command; the exit code is the process's. Tests inject env, a Runtime and a log stream."""
    env = os.environ if env is None else env
    rt = rt or Runtime()
    try:
        cfg = parser(env).parse_args(argv)
    except ValueError as err:  # a malformed NODEPOOL_* number
        print("nodepool-agent: %s" % err, file=sys.stderr)
        return 2
    logsetup.setup(rt.redactor, cfg.verbose, stream)
    log = logging.getLogger("agent")
    imds = Imds(cfg.imds_url)
    tokens = TokenSource(imds, cfg.identity_client_id, rt.redactor, clock=rt.clock, sleep=rt.sleep, rand=rt.rand,
                         budget=token_budget(cfg))
    if cfg.command == "storage-credentials":
        return storage.run(cfg, tokens, rt)
    if not cfg.api_url:
        log.error("--api-url (NODEPOOL_API_URL) is required")
        return 2
    key = FunctionKey(rt.redactor, tokens, env.get("NODEPOOL_FUNCTION_KEY", ""), cfg.function_key_file,
                      cfg.function_key_uri)
    credential = NodeCredential(cfg.node_credential_file, rt.redactor) if cfg.command in NODE else None
    api = Api(cfg.api_url, tokens, cfg.audience, key, cfg.http_timeout, credential=credential)
    if cfg.command in NODE:
        cfg.node_name = cfg.node_name or socket.gethostname().split(".")[0]
    if cfg.command == "join":
        return join.run(cfg, api, imds, rt)
    if cfg.command == "leave":
        return leave.run(cfg, api, rt)
    if cfg.command == "register":
        return register.run(cfg, api, imds, rt)
    names = {cfg.node_name, cfg.instance_name or instance_name(imds, rt)}
    watch.Watcher(imds, api, rt, cfg.node_name, names, interval=cfg.poll_interval,
                  http_timeout=cfg.http_timeout).run(rt.stop)
    return 0


def token_budget(cfg) -> float:
    """How long one identity-token fetch may retry: short where a deadline or a shutdown waits."""
    if cfg.command == "watch":
        return 2.0
    if cfg.command == "leave":
        return min(20.0, cfg.leave_timeout / 3)
    return 60.0


def instance_name(imds: Imds, rt: Runtime, budget: float = 30.0) -> str:
    """compute.name: what scheduled events list in Resources (e.g. agents_3 in a scale set)."""
    try:
        reply = retry(lambda: imds.get("/metadata/instance/compute", {"api-version": INSTANCE_API}),
                      what="instance metadata", budget=budget, clock=rt.clock, sleep=rt.sleep, rand=rt.rand)
    except GaveUp as err:
        reason = str(err)
    else:
        data = reply.data()
        name = data.get("name") if reply.ok and isinstance(data, dict) else None
        if isinstance(name, str) and name:
            return name
        reason = reply.error()
    logging.getLogger("agent.watch").warning("no instance name from IMDS (%s); matching events on the host name "
                                             "only", reason)
    return ""
