"""invoke tasks for the agent pools (see ops/agents.py)."""
from __future__ import annotations

from invoke import task

from ops import agents
from ops.errors import OpsError
from ops.tasks import POOL, azure, failures, say


def asked_for_help(value: str, command, placeholder: str) -> bool:
    """`scale-agents --help`: invoke hands the flag to the positional argument; answer it here."""
    if value not in ("-h", "--help"):
        return False
    name = command.name.replace("_", "-")
    print(f"Usage: python3 tasks.py {name} [--pool=STRING] {placeholder}\n\nDocstring:\n  {command.__doc__}\n"
          f"\nOptions:\n  -p STRING, --pool=STRING   {POOL['pool']}")
    return True


@task(help=POOL)
def list_agents(c, pool=""):
    """List every agent VM: pool, instance id, computer name, provisioning and power state."""
    with failures("list-agents"):
        agents.list_agents(azure(), pool or None, say=say)


@task(help=POOL)
def show_agents(c, pool=""):
    """Show each pool's scale set: size, capacity, priority, eviction policy, state."""
    with failures("show-agents"):
        agents.show_agents(azure(), pool or None, say=say)


@task(help={"count": "instances per pool", **POOL})
def scale_agents(c, count, pool=""):
    """Set each pool's (or one pool's) instance count, up or down: `scale-agents 5 --pool agents`."""
    if asked_for_help(count, scale_agents, "COUNT"):
        return
    with failures("scale-agents"):
        try:
            number = int(count)
        except ValueError:
            raise OpsError(f"COUNT must be a whole number, not {count!r}") from None
        agents.scale(azure(), number, pool or None, say=say)


@task(help={"size": "VM size, e.g. Standard_B2ms (list-sizes shows them)", **POOL})
def resize_agents(c, size, pool=""):
    """Change the agents' VM size; new and reimaged instances get it."""
    if asked_for_help(size, resize_agents, "SIZE"):
        return
    with failures("resize-agents"):
        agents.resize(azure(), size, pool or None, say=say)


@task(help=POOL)
def stop_agents(c, pool=""):
    """Stop (deallocate) every agent: no compute charges until start-agents."""
    with failures("stop-agents"):
        agents.power(azure(), "deallocate", pool or None, say=say)


@task(help=POOL)
def start_agents(c, pool=""):
    """Start every agent."""
    with failures("start-agents"):
        agents.power(azure(), "start", pool or None, say=say)


@task(help={"parallel": "all instances at once (the default)", "serial": "one at a time, waiting for each", **POOL})
def reimage_agents(c, parallel=False, serial=False, pool=""):
    """Reimage every agent from its image ("nuke and pave"): --parallel (default) or --serial."""
    with failures("reimage-agents"):
        if parallel and serial:
            raise OpsError("choose one of --parallel and --serial")
        agents.reimage(azure(), serial=serial, pool=pool or None, say=say)


@task(help=POOL)
def reimage_agents_parallel(c, pool=""):
    """The seed's name for `reimage-agents --parallel`."""
    reimage_agents(c, parallel=True, pool=pool)


@task(help=POOL)
def reimage_agents_serial(c, pool=""):
    """The seed's name for `reimage-agents --serial`."""
    reimage_agents(c, serial=True, pool=pool)


@task(help={"yes": "do not ask for confirmation", **POOL})
def chaos_monkey(c, yes=False, pool=""):
    """Restart every agent, one at a time, in random order (asks first unless --yes)."""
    with failures("chaos-monkey"):
        if not yes and input("restart every agent in random order? type yes: ").strip() != "yes":
            raise OpsError("not confirmed; nothing restarted")
        agents.chaos_monkey(azure(), pool or None, say=say)


@task(help={"instance": "instance id or computer name of the spot VM to evict (default: the first running one)",
            "url": "the app's API base (default: the compute deployment's functionAppUrl + /api)",
            "key": "the app's master key (default: NODEPOOL_OPERATOR_KEY, else read through ARM); never printed",
            "timeout": "seconds to follow the drain (default 240)"})
def drill(c, instance="", url="", key="", timeout=240):
    """Evict one spot VM for real (simulateEviction) and print its drain's timeline from the audit rows."""
    import os

    from ops import drill as D

    with failures("drill"):
        az = azure()
        api = D.api_for(az, url, key or os.environ.get("NODEPOOL_OPERATOR_KEY", ""))
        D.run(az, api, instance, timeout=float(timeout), say=say)
