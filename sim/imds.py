"""IMDS for every simulated VM, of every scale set (pool), on one plain-HTTP server.

`<url>/vms/<computerName>` stands in for http://169.254.169.254, so the node-side helper
only needs a configurable base URL. Like the real service, every call needs `Metadata: true`
and an api-version. Served: instance metadata (and leaves of it, `?format=text`), scheduled
events with `StartRequests` acknowledgement, managed-identity tokens from the sim IdP, and
attested documents signed by the simulator's attestation CA (sim/attest.py). Each VM's answers
come from its own scale set: its vmId, its scale set's name and resource id, size and priority, its
scale set's scheduled events.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping

from sim.attest import Attester
from sim.http import HttpError, Request, Response, Server
from sim.idp import Idp
from sim.vm import Vm
from sim.world import World, locate

VM = r"/vms/(?P<vm>[^/]+)/metadata"
NONCE = re.compile(r"^[A-Za-z0-9]{1,32}$")
TICK_EVERY_S = 0.005  # answers lag the clock by at most this (the simulator's own clock ticks every 20 ms)
VERSIONS = ["2023-07-01", "2021-12-13", "2021-02-01", "2020-07-01", "2019-08-01", "2018-02-01"]


class Imds:
    def __init__(self, world: World, idp: Idp, attester: Attester | None = None,
                 worlds: Mapping[str, World] | None = None):
        """`worlds`: every scale set by name, the agents' own (`world`) first (the ARM's, kept live)."""
        self.world, self.idp, self.attester = world, idp, attester or Attester(region=world.config.location)
        self.worlds = worlds if worlds is not None else {world.config.scale_set.lower(): world}
        self._ticked = float("-inf")
        self.server = Server([
            ("GET", VM + r"/instance(?P<leaf>/.*)?", self.instance),
            ("GET|POST", VM + r"/scheduledevents", self.scheduled_events),
            ("GET", VM + r"/identity/oauth2/token", self.token),
            ("GET", VM + r"/attested/document", self.attested),
        ], before=self._before)

    def url_for(self, vm: Vm) -> str:
        return f"{self.server.url}/vms/{vm.computer_name}"

    def _before(self, req: Request) -> Response | None:
        identity = "/identity/" in req.path
        if (req.headers.get("Metadata") or "").lower() != "true":
            missing = "Required metadata header not specified"
            return Response(400, {"error": "invalid_request", "error_description": missing}
                            if identity else {"error": f"Bad request. {missing}"})
        if not req.arg("api-version"):
            return Response(400, {"error": "Bad request. api-version was not specified in the request. For more "
                                           "information refer to aka.ms/azureimds", "newest-versions": VERSIONS[:3]})
        now = time.monotonic()
        if now - self._ticked >= TICK_EVERY_S:  # two hundred VMs polling twice a second need not all tick
            self._ticked = now
            for world in list(self.worlds.values()):
                world.tick()
        return None

    def _located(self, req: Request) -> tuple[World, Vm]:
        try:
            return locate(self.worlds.values(), req.params["vm"])
        except KeyError as err:
            raise HttpError(404, {"error": "Not found"}) from err

    def _vm(self, req: Request) -> Vm:
        return self._located(req)[1]

    def instance(self, req: Request) -> Response:
        doc: object = self.metadata(*self._located(req))
        for part in filter(None, (req.params.get("leaf") or "").split("/")):
            if not isinstance(doc, dict) or part not in doc:
                raise HttpError(404, {"error": "Not found"})
            doc = doc[part]
        if req.arg("format") == "text":
            return Response(200, str(doc).encode(), {"Content-Type": "text/plain; charset=utf-8"})
        return Response(200, doc)

    def metadata(self, world: World, vm: Vm) -> dict:
        """`vm`'s instance metadata, from its own scale set (`world`, as `_located` found it)."""
        cfg, in_set = world.config, vm is not world.master
        return {"compute": {
            "azEnvironment": "AzurePublicCloud", "location": cfg.location, "name": vm.name,
            "offer": "0001-com-ubuntu-server-jammy", "osType": "Linux", "priority": "Spot" if vm.spot else "Regular",
            "evictionPolicy": "delete" if vm.spot else "", "provider": "Microsoft.Compute", "publisher": "Canonical",
            "resourceGroupName": cfg.resource_group, "resourceId": vm.resource_id, "sku": "22_04-lts-gen2",
            "subscriptionId": cfg.subscription, "tags": "", "tagsList": [], "userData": "", "version": "22.04.2024",
            "vmId": vm.vm_id, "vmScaleSetName": cfg.scale_set if in_set else "", "vmSize": cfg.vm_size, "zone": "",
            "platformFaultDomain": "0", "platformUpdateDomain": "0",
            "osProfile": {"adminUsername": "cluster", "computerName": vm.computer_name,
                          "disablePasswordAuthentication": "true"},
        }, "network": {"interface": [{
            "ipv4": {"ipAddress": [{"privateIpAddress": vm.private_ip, "publicIpAddress": ""}],
                     "subnet": [{"address": vm.private_ip.rsplit(".", 2)[0] + ".0.0", "prefix": "16"}]},
            "ipv6": {"ipAddress": []}, "macAddress": vm.vm_id.replace("-", "")[:12].upper(),
        }]}}

    def scheduled_events(self, req: Request) -> Response:
        world, vm = self._located(req)
        if req.method == "POST":
            body = req.json()
            starts = body.get("StartRequests") if isinstance(body, dict) else None
            if not isinstance(starts, list) or not all(isinstance(s, dict) and "EventId" in s for s in starts):
                raise HttpError(400, {"error": "Bad request. StartRequests is not valid."})
            world.acknowledge(vm.computer_name, [s["EventId"] for s in starts])
            return Response(200)
        return Response(200, world.encoded_document(vm), {"Content-Type": "application/json; charset=utf-8"})

    def token(self, req: Request) -> Response:
        vm, resource = self._vm(req), req.arg("resource")
        if not resource:
            raise HttpError(400, {"error": "invalid_request",
                                  "error_description": "Required query variable 'resource' is missing"})
        ident = vm.identity
        wanted = {k: req.arg(k) for k in ("client_id", "object_id", "msi_res_id", "mi_res_id") if req.arg(k)}
        mine = {"client_id": ident.client_id, "object_id": ident.principal_id,
                "msi_res_id": ident.resource_id, "mi_res_id": ident.resource_id}
        if any(value.lower() != mine[k].lower() for k, value in wanted.items()):
            raise HttpError(400, {"error": "invalid_request", "error_description": "Identity not found"})
        now = int(time.time())
        return Response(200, {
            "access_token": self.idp.mint(ident, resource, now=now), "client_id": ident.client_id,
            "expires_in": "3600", "expires_on": str(now + 3600), "ext_expires_in": "3600",
            "not_before": str(now), "resource": resource, "token_type": "Bearer",
        })

    def attested(self, req: Request) -> Response:
        """Like Azure: the nonce (at most 32 alphanumerics) defaults to the time the document is made."""
        vm, now = self._vm(req), dt.datetime.now(dt.timezone.utc)
        nonce = req.arg("nonce") or now.strftime("%Y%m%d-%H%M%S")
        if req.arg("nonce") and not NONCE.match(nonce):
            raise HttpError(400, {"error": "Bad request. nonce must be at most 32 alphanumeric characters."})
        return Response(200, self.attester.document(vm.vm_id, nonce, self.world.config.subscription, now))
