"""Benchmark: joins through the app against its floor, bare Table Storage.

    python -m tests.bench.join [--json]        (or: python3 tasks.py bench join --json)

Our own Azurite (in memory), a Simulator with one agent per client, and the app in a dev host
subprocess (queue listeners on, timers off). Clients are threads here, each an agent with its
own managed-identity JWT and keep-alive connection, joining its own hostname over and over.
KubeSim answers in well under a millisecond; a k3s server persisting a secret in its datastore
takes a few, so secret writes (the bootstrap token of every join) are slowed by `--kube-write-ms`.

Each round, at the same concurrency and against the same Azurite:
- joins: `--joins` whole attested joins as an agent makes them: POST /api/join/nonce, the VM's
  attested document from its IMDS, POST /api/join (function key, agent JWT, {hostname, vm_id,
  attested});
- floor: as many bare 3-operation sequences with azure-data-tables (upsert, get, update with
  If-Match on the ETag just read), one TableClient per client thread; half of them run just
  before the joins and half just after, pooled into one sample.
Round figures are latency percentiles and rates; the reported ones are medians over rounds, and
the ratios are each round's joins over that round's floor (so both saw the same machine state).

Counted, not computed:
- arm_calls_per_join: requests the simulated ARM served from the timed dev host's start to the
  end of the last round (its first instance listing included), over the timed joins;
- table_ops_per_join: a second dev host reaches Azurite's table endpoint through a counting
  proxy (tests/bench/common.py); after a warm-up, `--count-joins` joins at the same
  concurrency; table requests seen, over those joins. The timed host never goes through it.
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid

import requests
from azure.core import MatchConditions
from azure.data.tables import TableClient, TableServiceClient, UpdateMode

from localenv.node_identity import document
from localenv.stack import LocalStack
from tests.bench.common import bench_stack, combined, emit, median_of, rounded, run_load

JOINS, CONCURRENCY, ROUNDS, COUNT_JOINS, KUBE_WRITE_MS = 500, 50, 3, 200, 2.0
FLOOR_TABLE = "floor"


class Agents:
    """One simulated agent per client: hostname, vmId and its IMDS-issued JWT."""

    def __init__(self, stack: LocalStack, count: int):
        vms, self.sim = stack.sim.vms[:count], stack.sim
        self.bodies = [{"hostname": vm.computer_name, "vm_id": vm.vm_id} for vm in vms]
        self.tokens = [stack.sim.token("agent") for _ in vms]

    @staticmethod
    def client(k: int) -> tuple[int, requests.Session]:
        """Client thread k is agent k, with its own keep-alive connection."""
        return k, requests.Session()

    def join_task(self, host):
        url, key = f"{host.url}/api/join", host.function_key

        def join(i: int, client) -> None:
            agent, session = client
            headers = {"x-functions-key": key, "Authorization": f"Bearer {self.tokens[agent]}"}
            body = self.bodies[agent]
            challenge = session.post(url + "/nonce", json={"hostname": body["hostname"]}, timeout=60, headers=headers)
            if challenge.status_code != 200:
                raise RuntimeError(f"nonce: {challenge.status_code} {challenge.text[:200]}")
            attested = document(self.sim, body["hostname"], challenge.json()["nonce"])
            response = session.post(url, json={**body, "attested": attested}, timeout=60, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code} {response.text[:200]}")
            if not response.json().get("token"):
                raise RuntimeError("no token in the answer")
        return join


def floor_task(tag: str):
    """upsert, get, If-Match update: what a join must at least do to Table Storage."""
    def sequence(i: int, table: TableClient) -> None:
        now = time.time()
        entity = {"PartitionKey": "bench", "RowKey": f"{tag}-{i}", "state": "joining", "instance_id": str(i),
                  "vm_id": str(uuid.uuid4()), "token_id": "abcdef", "joined_at": now, "updated_at": now}
        table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        got = table.get_entity("bench", entity["RowKey"])
        table.update_entity({**entity, "state": "ready"}, mode=UpdateMode.REPLACE, etag=got.metadata["etag"],
                            match_condition=MatchConditions.IfNotModified)
    return sequence


def one_round(stack: LocalStack, host, agents: Agents, args, n: int) -> dict:
    """Half the floor, the joins, the other half of the floor: drifting machine load (other work on
    the same cores) weighs on both sides alike."""
    conn = stack.connection_string()

    def run_floor(part: str, count: int):
        return run_load(floor_task(f"r{n}{part}"), count, args.concurrency,
                        session=lambda k: TableClient.from_connection_string(conn, FLOOR_TABLE))

    before = run_floor("a", args.joins // 2)
    joins = run_load(agents.join_task(host), args.joins, args.concurrency, session=Agents.client)
    floor = combined(before, run_floor("b", args.joins - args.joins // 2))
    figures = {"errors": len(joins.errors) + len(floor.errors), "p50_ms": joins.p(50), "p99_ms": joins.p(99),
               "joins_per_s": joins.per_s, "floor_p50_ms": floor.p(50), "floor_p99_ms": floor.p(99),
               "floor_per_s": floor.per_s}
    figures["p99_over_floor"] = figures["p99_ms"] / figures["floor_p99_ms"]
    figures["rate_over_floor"] = figures["joins_per_s"] / figures["floor_per_s"]
    figures["sample_errors"] = (joins.errors + floor.errors)[:3]
    return figures


def count_table_ops(stack: LocalStack, agents: Agents, args) -> tuple[float, dict]:
    proxy = stack.count_tables()
    host = stack.start_host(table_url=proxy.url, args=("--no-timers", "--no-queues"))
    warm = run_load(agents.join_task(host), args.concurrency, args.concurrency, session=Agents.client)
    proxy.take()  # tables created, cluster row cached: what every join pays is what is left
    counted = run_load(agents.join_task(host), args.count_joins, args.concurrency, session=Agents.client)
    ops = proxy.take()
    host.stop()
    if warm.errors or counted.errors:
        raise SystemExit(f"counting run failed: {(warm.errors + counted.errors)[:3]}")
    return sum(ops.values()) / counted.done, dict(ops)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.join", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print only the figures (one JSON line)")
    parser.add_argument("--joins", type=int, default=JOINS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--count-joins", type=int, default=COUNT_JOINS)
    parser.add_argument("--kube-write-ms", type=float, default=KUBE_WRITE_MS, help="latency of a secret write")
    args = parser.parse_args(argv)

    with bench_stack(agents=max(50, args.concurrency)) as stack:
        TableServiceClient.from_connection_string(stack.connection_string()).create_table_if_not_exists(FLOOR_TABLE)
        agents = Agents(stack, args.concurrency)
        if args.kube_write_ms > 0:
            stack.sim.kube.faults.slow(args.kube_write_ms / 1000, seconds=24 * 3600, path="/secrets")
        arm_before = sum(stack.sim.arm.server.hits.values())
        host = stack.start_host()
        stack.register_master(host)
        warm = run_load(agents.join_task(host), args.concurrency, args.concurrency, session=Agents.client)
        if warm.errors:
            raise SystemExit(f"warm-up joins failed: {warm.errors[:3]}")
        rounds = [one_round(stack, host, agents, args, n) for n in range(args.rounds)]
        arm_calls = sum(stack.sim.arm.server.hits.values()) - arm_before
        kube_requests = sum(stack.sim.kube.requests.values())
        host.stop()
        table_ops, by_kind = count_table_ops(stack, agents, args)

    timed = args.joins * args.rounds
    figures = {"joins": args.joins, "concurrency": args.concurrency, "errors": sum(r["errors"] for r in rounds),
               **median_of(rounds, ("p50_ms", "p99_ms", "joins_per_s", "floor_p99_ms", "floor_per_s",
                                    "p99_over_floor", "rate_over_floor")),
               "table_ops_per_join": table_ops, "arm_calls_per_join": arm_calls / timed}
    lines = [f"round {n + 1}: " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                            for k, v in r.items() if k != "sample_errors" or v)
             for n, r in enumerate(rounds)]
    lines += [f"table requests per kind over {args.count_joins} counted joins: {by_kind}",
              f"ARM requests during the timed host's life: {arm_calls}; Kubernetes API requests: {kube_requests} "
              f"({kube_requests / (timed + args.concurrency):.2f} per join, warm-up included)",
              f"medians over {args.rounds} rounds of {args.joins} joins at concurrency {args.concurrency}; "
              f"floor p50 {statistics.median(r['floor_p50_ms'] for r in rounds):.1f} ms"]
    emit(rounded(figures), args.json, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
