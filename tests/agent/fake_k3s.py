"""Stands in for `systemctl restart k3s-agent` in the integration tests (the helper's --start-command).

What k3s does first when it starts as an agent: read /etc/rancher/k3s/config.yaml and create the node
password (/etc/rancher/node/password) unless the disk already has one. It then hands what it would
present to the server to the test, as JSON in --out; the test calls the simulator's supervisor
(`KubeSim.k3s_agent_join`) with it, which checks the token and the node password as k3s does.

    python3 fake_k3s.py --config CONFIG --password-file PASSWORD --out STARTED_JSON
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys


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


def main(argv: list[str]) -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--config", required=True)
    args.add_argument("--password-file", required=True)
    args.add_argument("--out", required=True)
    opts = args.parse_args(argv)
    with open(opts.config, encoding="utf-8") as handle:
        config = parse_config(handle.read())
    if not os.path.exists(opts.password_file):
        os.makedirs(os.path.dirname(os.path.abspath(opts.password_file)), exist_ok=True)
        with open(opts.password_file, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_hex(16) + "\n")
    with open(opts.password_file, encoding="utf-8") as handle:
        password = handle.read().strip()
    with open(opts.out, "w", encoding="utf-8") as handle:
        json.dump({"config": config, "password": password}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
