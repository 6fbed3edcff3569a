"""Wire shapes of Microsoft.Compute scale sets and their VMs, as ARM returns them."""
from __future__ import annotations

import datetime as dt

from sim.vm import Vm
from sim.world import World

POWER_TEXT = {"starting": "VM starting", "running": "VM running", "stopping": "VM stopping",
              "stopped": "VM stopped", "deallocating": "VM deallocating", "deallocated": "VM deallocated"}


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def etag(n: int) -> str:
    return f'"{n}"'


def scale_set(world: World) -> dict:
    cfg, ident = world.config, world.agent
    return {
        "name": cfg.scale_set, "id": cfg.scale_set_id, "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": cfg.location, "etag": etag(world.etag),
        "sku": {"name": cfg.vm_size, "tier": "Standard", "capacity": world.capacity},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {
            ident.resource_id: {"principalId": ident.principal_id, "clientId": ident.client_id}}},
        "properties": {
            "orchestrationMode": "Uniform", "singlePlacementGroup": False, "overprovision": False,
            "upgradePolicy": {"mode": "Manual"},
            "scaleInPolicy": {"rules": list(world.scale_in_rules), "forceDeletion": False},
            "provisioningState": "Succeeded" if world.settled(world.listing()) else "Updating",
            "virtualMachineProfile": {
                "osProfile": {"computerNamePrefix": cfg.prefix, "adminUsername": "cluster"},
                **_priority(cfg.priority),
                "scheduledEventsProfile": {"terminateNotificationProfile": {
                    "enable": bool(cfg.terminate_notice_s),
                    "notBeforeTimeout": f"PT{max(5, round(cfg.terminate_notice_s / 60))}M"}},
            },
        },
    }


def _priority(priority: str) -> dict:
    if priority == "Spot":
        return {"priority": "Spot", "evictionPolicy": "Delete", "billingProfile": {"maxPrice": -1}}
    return {"priority": priority}


def instance_view(vm: Vm) -> dict:
    return {
        "computerName": vm.computer_name, "osName": "ubuntu", "osVersion": "22.04",
        "platformUpdateDomain": 0, "platformFaultDomain": 0,
        "statuses": [
            {"code": f"ProvisioningState/{vm.provisioning.lower()}", "level": "Info",
             "displayStatus": f"Provisioning {vm.provisioning.lower()}", "time": iso(vm.created)},
            {"code": f"PowerState/{vm.power}", "level": "Info", "displayStatus": POWER_TEXT[vm.power]},
        ],
    }


def vm(world: World, vm: Vm, *, expand: bool = False) -> dict:
    cfg = world.config
    props = {
        "latestModelApplied": True, "vmId": vm.vm_id, "provisioningState": vm.provisioning,
        "timeCreated": iso(vm.created), "hardwareProfile": {"vmSize": cfg.vm_size},
        "osProfile": {"computerName": vm.computer_name, "adminUsername": "cluster"},
        "protectionPolicy": {"protectFromScaleIn": vm.protected, "protectFromScaleSetActions": False},
        "networkProfile": {"networkInterfaces": []},
    }
    if expand:
        props["instanceView"] = instance_view(vm)
    return {
        "name": vm.name, "id": vm.resource_id, "type": "Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
        "location": cfg.location, "instanceId": vm.instance_id, "etag": etag(vm.etag),
        "sku": {"name": cfg.vm_size, "tier": "Standard"}, "properties": props,
    }
