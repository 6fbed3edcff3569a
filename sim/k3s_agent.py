"""Stands in for `systemctl restart k3s-agent` on a simulated VM (the helper's start command).

What the k3s agent does when it starts: read /etc/rancher/k3s/config.yaml (written by `agent join`),
create the node password (/etc/rancher/node/password) unless the disk already has one, and present
token and password to the server's supervisor, which checks both as k3s does and registers the Node.
Here the supervisor is the simulator's (KubeSim), reached through the control server:
POST /sim/vms/<node-name>/k3s-join. Exit 0 when the Node registered, 1 when refused.

    python -m sim.k3s_agent --config CONFIG --password-file PASSWORD --control http://127.0.0.1:PORT

Stdlib only, like the helper. The token is sent to the simulator and never printed.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import urllib.error
import urllib.request


def parse_config(text: str) -> dict:
    """The YAML subset the helper writes: `key: <JSON scalar>` and `key:` followed by `  - <JSON scalar>`."""
    out: dict = {}
    current = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("  - ") and current is not None:
            out[current].append(json.loads(line[4:]))
            continue
        key, _, value = line.partition(":")
        if value.strip():
            out[key], current = json.loads(value.strip()), None
        else:
            out[key], current = [], key
    return out


def node_password(path: str) -> str:
    """k3s's node password: created on the first start of a disk, read on every later one."""
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(16) + "\n")
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip()


def presented(config: dict, password: str) -> dict:
    """What the agent presents to the supervisor: token, node password, its labels and taints."""
    return {"token": config["token"], "password": password, "labels": config.get("node-label", []),
            "taints": config.get("node-taint", [])}


def join(control: str, config: dict, password: str, timeout: float = 30.0) -> tuple[int, dict]:
    url = "%s/sim/vms/%s/k3s-join" % (control.rstrip("/"), config["node-name"])
    body = json.dumps(presented(config, password)).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(prog="python -m sim.k3s_agent", description=__doc__.split("\n\n")[0])
    args.add_argument("--config", required=True, help="the k3s config the helper wrote")
    args.add_argument("--password-file", required=True, help="k3s's node password file")
    args.add_argument("--control", required=True, help="the simulator's control URL")
    opts = args.parse_args(argv)
    with open(opts.config, encoding="utf-8") as handle:
        config = parse_config(handle.read())
    status, answer = join(opts.control, config, node_password(opts.password_file))
    if status != 201:
        print("k3s-agent: join refused (%s): %s" % (status, answer.get("error", answer)), file=sys.stderr)
        return 1
    print("k3s-agent: node %s registered" % answer.get("node"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
