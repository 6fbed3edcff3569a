"""The control plane's monthly cost, estimated from stated assumptions (docs/deploy.md, "What it costs").

`python -m console.cost` prints docs/deploy.md's table; tests/unit/test_docs_follow_code.py keeps them equal.
Prices are USD list prices (pay-as-you-go, a US region, as the pricing pages gave them when this
was written): check https://azure.microsoft.com/pricing for yours. Figures marked measured come
from our benches or the demo; the rest are assumptions, named as such.
"""
from __future__ import annotations

from dataclasses import dataclass

MONTH_S = 30 * 24 * 3600
PRICES = {
    "gb_s": 0.000026,  # Flex Consumption on demand, per GB-s of instance memory while executing
    "executions_per_m": 0.40,  # per million executions
    "free_gb_s": 100_000, "free_executions": 250_000,  # monthly free grant (per subscription)
    "queue_per_10k": 0.004,  # Queue Storage operations, GPv2 LRS
    "table_per_10k": 0.00036,  # Table Storage transactions
    "blob_write_per_10k": 0.05,  # hot blob writes (the timers' schedule monitor)
    "ingest_per_gb": 2.30, "free_ingest_gb": 5.0,  # Application Insights (Log Analytics) ingestion
}
INSTANCE_GB = 2.0  # Flex Consumption instance memory (2048 MB, the default)
QUEUE_IDLE_TX = 2_590_000  # measured: bench queue_idle, maxPollingInterval 2 s, two queue triggers, per instance
TICKS = {"reconcile": MONTH_S // 60, "autoscale": MONTH_S // 30, "tokens": MONTH_S // 300}  # the schedules


@dataclass(frozen=True)
class Assumptions:
    agents: int
    evictions_per_agent: float = 4.0  # spot evictions (each: a replacement join) per agent a month
    calls_per_eviction: int = 9  # join, 2 event reports, ~5 drain-status polls, the queue drain
    tick_s: tuple[float, float, float] = (0.13, 0.10, 0.05)  # reconcile (measured in the demo), autoscale, tokens
    table_ops_per_tick: tuple[int, int, int] = (8, 5, 2)  # state read/write, registry page, decision log
    kb_per_tick: float = 8.0  # telemetry a tick: its log line, the request span, ~10 storage/ARM dependency spans
    instances: int = 1  # timers every 30 s keep one instance up; queue polling is per instance

    @classmethod
    def for_pool(cls, agents: int) -> Assumptions:
        if agents <= 20:
            return cls(agents)
        # 100 agents: ticks list more (bench reconcile: 0.6 s at 1000 nodes), more spans a tick
        return cls(agents, tick_s=(0.3, 0.3, 0.1), table_ops_per_tick=(9, 5, 2), kb_per_tick=12.0)


def estimate(a: Assumptions) -> dict[str, float]:
    p = PRICES
    ticks = sum(TICKS.values())
    executions = ticks + a.agents * a.evictions_per_agent * a.calls_per_eviction
    gb_s = INSTANCE_GB * sum(n * s for n, s in zip(TICKS.values(), a.tick_s))
    functions = (max(0, executions - p["free_executions"]) / 1e6 * p["executions_per_m"]
                 + max(0, gb_s - p["free_gb_s"]) * p["gb_s"])
    queue_tx = a.instances * QUEUE_IDLE_TX + a.agents * a.evictions_per_agent * 4  # send, get, delete, ...
    table_tx = sum(n * ops for n, ops in zip(TICKS.values(), a.table_ops_per_tick))
    ingest_gb = ticks * a.kb_per_tick / 1e6
    return {
        "executions": executions, "gb_s": gb_s, "functions_usd": functions,
        "queue_tx": queue_tx, "queue_usd": queue_tx / 1e4 * p["queue_per_10k"],
        "table_tx": table_tx, "table_usd": table_tx / 1e4 * p["table_per_10k"],
        "blob_writes": ticks, "blob_usd": ticks / 1e4 * p["blob_write_per_10k"],
        "ingest_gb": ingest_gb, "insights_usd": max(0.0, ingest_gb - p["free_ingest_gb"]) * p["ingest_per_gb"],
    }


def markdown(pools: tuple[int, ...] = (5, 100)) -> str:
    rows = [("Function executions (timers + agents' calls)", "executions", "functions_usd", "{:,.0f}"),
            ("Function GB-s (2 GB instance x tick time)", "gb_s", None, "{:,.0f}"),
            ("Queue transactions (idle polling, measured)", "queue_tx", "queue_usd", "{:,.0f}"),
            ("Table transactions (ticks)", "table_tx", "table_usd", "{:,.0f}"),
            ("Blob writes (timer schedule monitor)", "blob_writes", "blob_usd", "{:,.0f}"),
            ("Application Insights ingestion (GB)", "ingest_gb", "insights_usd", "{:.2f}")]
    figures = {n: estimate(Assumptions.for_pool(n)) for n in pools}
    head = "| a month | " + " | ".join(f"{n} agents" for n in pools) + " |\n|---|" + "---|" * len(pools)
    lines = [head]
    for label, amount, usd, fmt in rows:
        cells = [fmt.format(figures[n][amount]) + (f" (${figures[n][usd]:.2f})" if usd else "") for n in pools]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    totals = [sum(v for k, v in figures[n].items() if k.endswith("_usd")) for n in pools]
    lines.append("| **control plane, total** | " + " | ".join(f"**${t:.2f}**" for t in totals) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
