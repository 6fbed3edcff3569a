"""Read-only listings: resources of the groups, locations, VM sizes, Ubuntu images, endpoints."""
from __future__ import annotations

from ops import deploy
from ops.arm import Azure

UBUNTU = ("Canonical", "ubuntu-24_04-lts")


def resources(az: Azure, say=print) -> list[tuple[str, str, str]]:
    rows = []
    for group in (az.config["COMPUTE_GROUP"], az.config.storage_group):
        if not az.resources.resource_groups.check_existence(group):
            say(f"{group}: (does not exist)")
            continue
        for item in az.resources.resources.list_by_resource_group(group):
            rows.append((group, item.type, item.name))
            say(f"{group:<24} {item.type:<56} {item.name}")
    return rows


def locations(az: Azure, say=print) -> list[str]:
    names = sorted(loc.name for loc in az.subscriptions.subscriptions.list_locations(az.config.subscription))
    for name in names:
        say(name)
    return names


def sizes(az: Azure, location: str | None = None, say=print) -> list[str]:
    found = list(az.compute.virtual_machine_sizes.list(location or az.config["LOCATION"]))
    for size in found:
        say(f"{size.name:<28} {size.number_of_cores:>3} vCPU {size.memory_in_mb:>7} MiB")
    return [s.name for s in found]


def images(az: Azure, location: str | None = None, say=print) -> list[str]:
    publisher, offer = UBUNTU
    skus = [s.name for s in az.compute.virtual_machine_images.list_skus(location or az.config["LOCATION"],
                                                                          publisher, offer)]
    for sku in skus:
        say(f"{publisher}:{offer}:{sku}:latest")
    return skus


def endpoints(az: Azure, say=print) -> dict[str, str]:
    out = deploy.outputs(az, "compute")
    found = {"master (ssh)": out.get("masterFqdn", ""), "control plane": out.get("functionAppUrl", "")}
    for ip in az.network.public_ip_addresses.list(az.config["COMPUTE_GROUP"]):
        if ip.dns_settings and ip.dns_settings.fqdn:
            found[ip.name] = ip.dns_settings.fqdn
    for name, value in found.items():
        say(f"{name:<20} {value}")
    return found
