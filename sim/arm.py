"""ARM for Microsoft.Compute virtual machine scale sets, over HTTPS, as azure-mgmt-compute speaks it.

One World per scale set: `world` is the first (the agents' pool), `add_pool(world)` adds others
(autoscale pools: a regular-priority fallback, another size); each request finds its own by name.

Scale set get/update (sku.capacity and scaleInPolicy, `If-Match` against the ETag: stale ->
412), paged VM listing (`$expand=instanceView`, `$skiptoken` nextLinks), VM get/update
(protectionPolicy), instance views, POST actions for instanceIds, and long-running operations
polled through `Azure-AsyncOperation` / `Location`. Bearer tokens are checked; faults
(sim/faults.py) are applied before anything else answers.
"""
from __future__ import annotations

from collections.abc import Callable

from sim import arm_json as J
from sim.arm_deployments import Deployments
from sim.arm_estate import Estate
from sim.arm_groups import Groups, mount
from sim.arm_sites import Sites
from sim.arm_subscription import Subscription
from sim.faults import Faults, retry_after
from sim.http import Hangup, HttpError, Request, Response, Server
from sim.operations import Operations
from sim.world import Refused, World

VMSS = (r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
        r"/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<vmss>[^/]+)")
VM = VMSS + r"/virtualMachines/(?P<id>\d+)"
ACTIONS = "delete|restart|start|deallocate|reimage|powerOff|redeploy"


class Arm:
    def __init__(self, world: World, accept_token: Callable[[str], bool], tls, page_size: int = 50):
        self.world, self.accept_token, self.page_size = world, accept_token, page_size
        self.worlds: dict[str, World] = {world.config.scale_set.lower(): world}
        self.faults, self.ops = Faults(world.clock), Operations(world.clock)
        self.api_versions: set[str] = set()  # what clients sent, for tests and curious humans
        self.server = Server([
            ("GET", VMSS, self.get_scale_set), ("PUT|PATCH", VMSS, self.update_scale_set),
            ("GET", VMSS + "/virtualMachines", self.list_vms), ("GET", VM, self.get_vm),
            ("PUT|PATCH", VM, self.update_vm), ("DELETE", VM, self.delete_vm),
            ("GET", VM + "/instanceView", lambda r: Response(200, J.instance_view(self._vm(r)[1]))),
            ("POST", VM + r"/(?P<action>simulateEviction|" + ACTIONS + ")", self.vm_action),
            ("POST", VMSS + r"/(?P<action>" + ACTIONS + ")", self.scale_set_action),
            ("GET", r"/subscriptions/[^/]+/providers/Microsoft\.Compute/locations/[^/]+/operations/(?P<op>[^/]+)",
             self.operation),
        ], tls=tls.server_context(), before=self._before)
        self.groups = Groups(self)  # groups, catalogue, deployments, shares: sim/arm_groups.py ...
        self.deployments = Deployments(self, self.groups)
        self.estate = Estate(self.groups)
        self.subscription = Subscription(self.groups)  # what preflight reads (sim/arm_subscription.py)
        self.sites = Sites(self.groups)  # host keys, vault secrets, role assignments (sim/arm_sites.py)
        mount(self, self.groups.routes() + self.deployments.routes() + self.estate.routes()
              + self.subscription.routes() + self.sites.routes())

    # -- every request ------------------------------------------------------------------------
    def _before(self, req: Request) -> Response | None:
        auth = req.headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or not self.accept_token(auth[7:]):
            return Response(401, J.error("InvalidAuthenticationToken", "The access token is invalid."),
                            {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        version = req.arg("api-version")
        if not version and not req.path.startswith("/v1.0/"):  # Microsoft Graph has no api-version
            return Response(400, J.error("MissingApiVersionParameter", "The api-version query parameter is required."))
        self.api_versions.add(version)
        fault = self.faults.pick(req.method, req.path, req.query)
        if fault:
            return self._fault_answer(fault)
        for world in list(self.worlds.values()):
            world.tick()
        return None

    def _fault_answer(self, fault) -> Response:
        if fault.kind == "hang":
            self.faults.hold(fault)
            raise Hangup()
        if fault.kind == "throttle":
            return Response(429, J.error("TooManyRequests", "The request is being throttled."), retry_after(fault))
        return Response(fault.status, J.error("InternalServerError", "An internal error occurred."))

    def add_pool(self, world: World) -> World:
        self.worlds[world.config.scale_set.lower()] = world
        return world

    def _scope(self, req: Request) -> World:
        """The scale set a request names (404 as ARM says it for a wrong subscription, group or name)."""
        cfg, p = self.world.config, req.params
        world = self.worlds.get(p["vmss"].lower())
        for got, ok, what in ((p["sub"], p["sub"].lower() == cfg.subscription.lower(), "subscription"),
                              (p["rg"], p["rg"].lower() == cfg.resource_group.lower(), "resource group"),
                              (p["vmss"], world is not None, "virtual machine scale set")):
            if not ok:
                raise HttpError(404, J.error("ResourceNotFound", f"The {what} '{got}' was not found."))
        return world

    def _vm(self, req: Request):
        world = self._scope(req)
        vm = world.vms.get(req.params["id"])
        if vm is None:
            raise HttpError(404, J.error("NotFound", "The entity was not found in this Azure location."))
        return world, vm

    def _if_match(self, req: Request, current: int) -> None:
        wanted = req.headers.get("If-Match")
        if wanted and wanted != "*" and wanted != J.etag(current):
            raise HttpError(412, J.error("PreconditionFailed", "The ETag does not match: the resource changed."))

    def _accepted(self, req: Request, status: int, done: Callable[[], bool], body=None, failed=None) -> Response:
        cfg = self.world.config
        return Response(status, body, self.ops.headers(self.server.url, cfg.subscription, cfg.location,
                                                       self.ops.start(done, failed), req.arg("api-version")))

    # -- scale set ------------------------------------------------------------------------------
    def get_scale_set(self, req: Request) -> Response:
        world = self._scope(req)
        return Response(200, J.scale_set(world), {"ETag": J.etag(world.etag)})

    def update_scale_set(self, req: Request) -> Response:
        body, world = req.json() or {}, self._scope(req)
        with world.lock:  # the ETag check and the change are one step
            self._if_match(req, world.etag)
            rules = (body.get("properties") or {}).get("scaleInPolicy", {}).get("rules")
            if rules:
                world.scale_in_rules, world.etag = list(rules), world.etag + 1
            size = (body.get("sku") or {}).get("name")
            if size and size != world.config.vm_size:  # resize-agents: the model changes, VMs keep theirs
                world.config.vm_size, world.etag = size, world.etag + 1
            capacity = (body.get("sku") or {}).get("capacity")
            try:
                changed = world.scale_to(int(capacity)) if capacity is not None else []
            except Refused as err:
                raise HttpError(err.status, J.error(err.code, err.message)) from err
        world.tick()  # delivers the hooks held back while we held the lock
        failed = next((vm.allocation_error for vm in changed if vm.allocation_error), None)
        return self._accepted(req, 200, lambda: world.settled(changed), J.scale_set(world),
                              failed=(lambda: failed) if failed else None)

    def list_vms(self, req: Request) -> Response:
        world = self._scope(req)
        vms, skip = world.listing(), req.arg("$skiptoken") or ""
        if skip and not skip.isdigit():
            raise HttpError(400, J.error("InvalidSkipToken", "The skip token is invalid."))
        start = next((i for i, vm in enumerate(vms) if int(vm.instance_id) > int(skip)), len(vms)) if skip else 0
        if self.faults.take("fail_page", req.method, req.path, page=start // self.page_size + 1):
            return Response(500, J.error("InternalServerError", "An internal error occurred."))
        page = vms[start:start + self.page_size]
        expand = (req.arg("$expand") or "").lower() == "instanceview"
        body: dict = {"value": [J.vm(world, vm, expand=expand) for vm in page]}
        if dup := self.faults.take("duplicate", req.method, req.path):
            body["value"] = self._duplicated(world, dup, vms, start, body["value"], expand)
        if no_view := self.faults.take("no_view", req.method, req.path):
            for item in body["value"]:
                view = item["properties"].pop("instanceView", None)
                if no_view.keep and view is not None:
                    view["statuses"] = [s for s in view.get("statuses", []) if not s["code"].startswith("PowerState/")]
                    item["properties"]["instanceView"] = view
        short = self.faults.take("short_list", req.method, req.path)
        if short:
            body["value"] = body["value"][: short.keep or len(page)]
        elif start + self.page_size < len(vms):
            query = f"api-version={req.arg('api-version')}&$skiptoken={page[-1].instance_id}"
            body["nextLink"] = f"{self.server.url}{req.path}?{query}" + ("&$expand=instanceView" if expand else "")
        return Response(200, body)

    def _duplicated(self, world: World, fault, vms: list, start: int, items: list, expand: bool) -> list:
        """The page with the previous page's last VMs again first (one page: its own last VMs again last)."""
        keep = fault.keep or 1
        last_page = start + self.page_size >= len(vms)
        again = vms[max(0, start - keep):start] if start else (vms[-keep:] if last_page else [])
        copies = [J.vm(world, vm, expand=expand) for vm in again]
        for copy in copies:
            view = copy["properties"].get("instanceView")
            if fault.state and view:
                view["statuses"] = [s for s in view.get("statuses", []) if not s["code"].startswith("PowerState/")]
                view["statuses"].append({"code": f"PowerState/{fault.state}", "level": "Info",
                                         "displayStatus": f"VM {fault.state}"})
        return copies + items if start else items + copies

    def scale_set_action(self, req: Request) -> Response:
        world = self._scope(req)
        ids = ((req.json() or {}).get("instanceIds")) or []
        if not ids and req.params["action"] == "delete":
            raise HttpError(400, J.error("InvalidParameter", "instanceIds is required."))
        return self._act(req, world, req.params["action"], [str(i) for i in ids] or list(world.vms))

    def _act(self, req: Request, world: World, action: str, ids: list[str]) -> Response:
        try:
            vms = world.act(action, ids)
        except Refused as err:
            raise HttpError(err.status, J.error(err.code, err.message)) from err
        return self._accepted(req, 202, lambda: world.settled(vms))

    # -- one VM ---------------------------------------------------------------------------------
    def get_vm(self, req: Request) -> Response:
        world, vm = self._vm(req)
        return Response(200, J.vm(world, vm, expand=(req.arg("$expand") or "").lower() == "instanceview"))

    def update_vm(self, req: Request) -> Response:
        (world, vm), body = self._vm(req), req.json() or {}
        with world.lock:
            self._if_match(req, vm.etag)
            policy = (body.get("properties") or {}).get("protectionPolicy")
            if policy is not None:
                vm.protected, vm.etag = bool(policy.get("protectFromScaleIn")), vm.etag + 1
        return self._accepted(req, 200, lambda: True, J.vm(world, vm))

    def delete_vm(self, req: Request) -> Response:
        world, vm = self._vm(req)
        return self._act(req, world, "delete", [vm.instance_id])

    def vm_action(self, req: Request) -> Response:
        world, vm = self._vm(req)
        if req.params["action"] == "simulateEviction":
            world.preempt(vm.instance_id, 30)
            return Response(204)
        return self._act(req, world, req.params["action"], [vm.instance_id])

    def operation(self, req: Request) -> Response:
        status = self.ops.status(req.params["op"])
        if status is None:
            return Response(404, J.error("NotFound", "No such operation."))
        if req.arg("monitor") == "true":
            return Response(200 if status["status"] == "Succeeded" else 202)
        return Response(200, status)
