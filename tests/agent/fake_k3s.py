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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script by the helper under test
from sim.k3s_agent import node_password, parse_config  # noqa: E402  (the same reading k3s_agent does)


def main(argv: list[str]) -> int:
    args = argparse.ArgumentParser()
    args.add_argument("--config", required=True)
    args.add_argument("--password-file", required=True)
    args.add_argument("--out", required=True)
    opts = args.parse_args(argv)
    with open(opts.config, encoding="utf-8") as handle:
        config = parse_config(handle.read())
    with open(opts.out, "w", encoding="utf-8") as handle:
        json.dump({"config": config, "password": node_password(opts.password_file)}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
