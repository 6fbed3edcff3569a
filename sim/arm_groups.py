"""ARM beyond the one scale set: resource groups (create, get, HEAD, delete, their resources), the
scale-set listing of a group, and catalogue reads (locations, VM sizes, image SKUs) from
sim/data/arm_catalog.json. Mounted on sim/arm.py's server by `mount`.
"""
from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from sim import arm_json as J
from sim.http import HttpError, Request, Response

SUB = r"/subscriptions/(?P<sub>[^/]+)"
GROUP = SUB + r"/resourcegroups/(?P<rg>[^/]+)"
COMPUTE_AT = SUB + r"/providers/Microsoft\.Compute/locations/(?P<loc>[^/]+)"
CATALOG = json.loads((Path(__file__).parent / "data" / "arm_catalog.json").read_text())


class Groups:
    def __init__(self, arm):
        self.arm, self.world = arm, arm.world
        self.lock = threading.Lock()
        cfg = self.world.config
        self.groups: dict[str, dict] = {cfg.resource_group.lower(): {"name": cfg.resource_group,
                                                                     "location": cfg.location, "tags": {}}}
        self.resources: dict[str, list[dict]] = {}  # group -> resources created by deployments
        self.world_deleted = False

    def routes(self):
        return [("PUT", GROUP, self.put), ("GET", GROUP, self.get), ("HEAD", GROUP, self.head),
                ("DELETE", GROUP, self.delete), ("GET", GROUP + "/resources", self.list_resources),
                ("GET", GROUP + r"/providers/Microsoft\.Compute/virtualMachineScaleSets", self.scale_sets),
                ("GET", SUB + "/locations", lambda r: Response(200, {"value": self._located(r)})),
                ("GET", COMPUTE_AT + "/vmSizes", lambda r: Response(200, {"value": CATALOG["vmSizes"]})),
                ("GET", COMPUTE_AT + r"/publishers/(?P<pub>[^/]+)/artifacttypes/vmimage/offers/(?P<offer>[^/]+)/skus",
                 self.image_skus)]

    # -- groups --------------------------------------------------------------------------------
    def _id(self, req: Request, name: str) -> str:
        return f"/subscriptions/{req.params['sub']}/resourceGroups/{name}"

    def _body(self, req: Request, group: dict) -> dict:
        return {"id": self._id(req, group["name"]), "name": group["name"], "type": "Microsoft.Resources/resourceGroups",
                "location": group["location"], "tags": group["tags"], "properties": {"provisioningState": "Succeeded"}}

    def find(self, req: Request) -> dict:
        group = self.groups.get(req.params["rg"].lower())
        if group is None:
            name = req.params["rg"]
            raise HttpError(404, J.error("ResourceGroupNotFound", f"Resource group '{name}' could not be found."))
        return group

    def put(self, req: Request) -> Response:
        body = req.json() or {}
        if not body.get("location"):
            raise HttpError(400, J.error("LocationRequired", "The location property is required for this definition."))
        key = req.params["rg"].lower()
        with self.lock:
            created = key not in self.groups
            group = self.groups.setdefault(key, {"name": req.params["rg"], "location": body["location"]})
            group["tags"] = body.get("tags") or {}
        return Response(201 if created else 200, self._body(req, group))

    def get(self, req: Request) -> Response:
        return Response(200, self._body(req, self.find(req)))

    def head(self, req: Request) -> Response:
        return Response(204 if req.params["rg"].lower() in self.groups else 404)

    def delete(self, req: Request) -> Response:
        group, key = self.find(req), req.params["rg"].lower()
        with self.lock:
            self.groups.pop(key, None)
            self.resources.pop(key, None)
        if group["name"].lower() == self.world.config.resource_group.lower():
            self.world_deleted = True
            with self.world.lock:
                self.world.scale_to(0)
            self.world.tick()
        return self.arm._accepted(req, 202, lambda: True)

    def list_resources(self, req: Request) -> Response:
        group = self.find(req)
        items = list(self.resources.get(group["name"].lower(), []))
        if self._holds_world(group):
            items += [{"id": w.config.scale_set_id, "name": w.config.scale_set,
                       "type": "Microsoft.Compute/virtualMachineScaleSets", "location": w.config.location}
                      for w in self.arm.worlds.values()]
            items += [{"id": self.world.master.resource_id, "name": "master0",
                       "type": "Microsoft.Compute/virtualMachines", "location": self.world.config.location}]
        return Response(200, {"value": items})

    def _holds_world(self, group: dict) -> bool:
        return group["name"].lower() == self.world.config.resource_group.lower() and not self.world_deleted

    def scale_sets(self, req: Request) -> Response:
        group = self.find(req)
        worlds = self.arm.worlds.values() if self._holds_world(group) else ()
        return Response(200, {"value": [J.scale_set(w) for w in worlds]})

    # -- catalogue -----------------------------------------------------------------------------
    def _located(self, req: Request) -> list[dict]:
        sub = req.params["sub"]
        return [{"id": f"/subscriptions/{sub}/locations/{loc['name']}", "type": "Region", **loc}
                for loc in CATALOG["locations"]]

    def image_skus(self, req: Request) -> Response:
        skus = CATALOG["imageSkus"].get(f"{req.params['pub']}/{req.params['offer']}")
        if skus is None:
            raise HttpError(404, J.error("NotFound", "Artifact: VMImage was not found."))
        loc = req.params["loc"]
        return Response(200, [{"name": s, "location": loc, "id": f"{req.path}/{s}"} for s in skus])


def mount(arm, routes) -> None:
    """Append routes to the ARM server (they never shadow the scale set's: all are full matches)."""
    arm.server.routes += [(m.upper().split("|"), re.compile(p, re.IGNORECASE), h) for m, p, h in routes]
