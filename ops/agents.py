"""The agent pools (one VM scale set each, in the compute group): list, scale, power, reimage, chaos.

Every command acts on the scale sets it finds in the compute group, all of them unless `pool`
names one. Serial operations wait for each instance before touching the next.
"""
from __future__ import annotations

import random

from ops.arm import Azure, text
from ops.errors import OpsError


def pools(az: Azure, pool: str | None = None) -> list:
    group = az.config["COMPUTE_GROUP"]
    found = list(az.compute.virtual_machine_scale_sets.list(group))
    if pool:
        found = [s for s in found if s.name.lower() == pool.lower()]
        if not found:
            raise OpsError(f"no scale set {pool!r} in {group}")
    if not found:
        raise OpsError(f"no scale sets in {group}: run `python3 tasks.py deploy-compute` first")
    return found


def power_state(vm) -> str:
    statuses = (vm.instance_view.statuses if vm.instance_view else None) or []
    return next((s.code.split("/", 1)[1] for s in statuses if s.code and s.code.startswith("PowerState/")), "unknown")


def instances(az: Azure, scale_set: str) -> list:
    return list(az.compute.virtual_machine_scale_set_vms.list(az.config["COMPUTE_GROUP"], scale_set,
                                                              expand="instanceView"))


def list_agents(az: Azure, pool: str | None = None, say=print) -> list[tuple]:
    rows = []
    for scale_set in pools(az, pool):
        for vm in instances(az, scale_set.name):
            rows.append((scale_set.name, vm.instance_id, vm.os_profile.computer_name if vm.os_profile else vm.name,
                         text(vm.provisioning_state), power_state(vm)))
    for row in rows:
        say("%-16s %-5s %-20s %-12s %s" % row)
    if not rows:
        say("no agents")
    return rows


def show_agents(az: Azure, pool: str | None = None, say=print) -> None:
    for s in pools(az, pool):
        profile = s.virtual_machine_profile
        say(f"{s.name}: {s.sku.name} x {s.sku.capacity}, priority {text(profile.priority) if profile else '?'}, "
            f"eviction {text(profile.eviction_policy) if profile else '?'}, {text(s.provisioning_state)}")


def scale(az: Azure, count: int, pool: str | None = None, wait: bool = True, say=print) -> None:
    if count < 0:
        raise OpsError("the instance count must be 0 or more")
    for s in pools(az, pool):
        say(f"scaling {s.name} from {s.sku.capacity} to {count}")
        poller = az.compute.virtual_machine_scale_sets.begin_update(az.config["COMPUTE_GROUP"], s.name,
                                                                    {"sku": {"capacity": count}})
        if wait:
            poller.result()


def resize(az: Azure, size: str, pool: str | None = None, say=print) -> None:
    """Change the pool's VM size; with Manual upgrades, new and reimaged instances get it."""
    for s in pools(az, pool):
        say(f"{s.name}: {s.sku.name} -> {size} (new and reimaged instances; reimage-agents rolls the rest)")
        az.compute.virtual_machine_scale_sets.begin_update(az.config["COMPUTE_GROUP"], s.name,
                                                           {"sku": {"name": size, "capacity": s.sku.capacity}}).result()


def power(az: Azure, action: str, pool: str | None = None, say=print) -> None:
    """start, or deallocate (stop: no compute charges while stopped), every instance of each pool."""
    ops = az.compute.virtual_machine_scale_sets
    method = {"start": ops.begin_start, "deallocate": ops.begin_deallocate}[action]
    for s in pools(az, pool):
        say(f"{action} all instances of {s.name}")
        method(az.config["COMPUTE_GROUP"], s.name).result()


def reimage(az: Azure, serial: bool, pool: str | None = None, say=print) -> list[str]:
    group, done = az.config["COMPUTE_GROUP"], []
    for s in pools(az, pool):
        ids = [vm.instance_id for vm in instances(az, s.name)]
        if not serial:
            say(f"reimaging {len(ids)} instances of {s.name} at once")
            az.compute.virtual_machine_scale_sets.begin_reimage(group, s.name, {"instanceIds": ids}).result()
            done += [f"{s.name}/{i}" for i in ids]
            continue
        for instance_id in ids:
            say(f"reimaging {s.name}/{instance_id} and waiting for it")
            az.compute.virtual_machine_scale_set_vms.begin_reimage(group, s.name, instance_id).result()
            done.append(f"{s.name}/{instance_id}")
    return done


def chaos_monkey(az: Azure, pool: str | None = None, rng: random.Random | None = None, say=print) -> list[str]:
    """Restart every agent, one at a time, in random order."""
    group, order = az.config["COMPUTE_GROUP"], []
    for s in pools(az, pool):
        order += [(s.name, vm.instance_id) for vm in instances(az, s.name)]
    (rng or random.Random()).shuffle(order)
    for name, instance_id in order:
        say(f"restarting {name}/{instance_id}")
        az.compute.virtual_machine_scale_set_vms.begin_restart(group, name, instance_id).result()
    return [f"{n}/{i}" for n, i in order]
