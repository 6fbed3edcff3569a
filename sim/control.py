"""Chaos and inspection over plain HTTP + JSON, for demos and tests in other processes.

GET  /sim/state                               scale set, VMs (with IMDS URLs), events, faults
POST /sim/vms/<which>/preempt   {"notice": 30}
POST /sim/vms/<which>/reboot    {"notice": 10}      (also redeploy)
POST /sim/vms/<which>/freeze    {"notice": 10, "duration": 5}
POST /sim/vms/<which>/events    {"type": "Preempt", "notice": 30, "source": "Platform", "duration": -1,
                                 "also": ["agents_2"]}  (other VMs the one event names: host maintenance)
DELETE /sim/events/<event id>                       (Azure cancels it before it starts: 204, 409 if started)
POST /sim/vms/<which>/terminate                     (gone now, no notice)
POST /sim/vms/<which>/partition {"on": true}        (kubelet cut off, VM still running)
POST /sim/vms/<which>/k3s-join  {"token", "password", "labels": [], "taints": []}
                                (k3s starts on the VM: the supervisor checks and registers its Node;
                                 403 {"error": reason} when refused; see sim/k3s_agent.py)
POST /sim/scale                 {"capacity": 3}     (someone else resizes the scale set)
POST /sim/arm/faults            {"kind": "throttle", "count": 2, "retry_after": 1, "seconds": ...}
DELETE /sim/arm/faults
`<which>` is an instance id, ARM VM name or computer name, of any scale set (an instance id: the agents' own).
"""
from __future__ import annotations

from sim.arm import Arm
from sim.http import HttpError, Request, Response, Server
from sim.imds import Imds
from sim.kube.k3s import JoinRefused
from sim.world import Refused, World, locate

WHICH = r"/sim/vms/(?P<which>[^/]+)"


class Control:
    def __init__(self, world: World, arm: Arm, imds: Imds):
        self.world, self.arm, self.imds = world, arm, imds
        self.kube = None  # KubeSim, set by the Simulator once it started
        self.server = Server([
            ("GET", "/sim/state", lambda r: Response(200, self.state())),
            ("POST", WHICH + r"/(?P<verb>preempt|reboot|redeploy|freeze|events|terminate|partition)", self.chaos),
            ("POST", WHICH + r"/k3s-join", self.k3s_join),
            ("DELETE", r"/sim/events/(?P<event>[^/]+)", self.withdraw),
            ("POST", "/sim/scale", self.scale),
            ("POST", "/sim/arm/faults", self.add_fault),
            ("DELETE", "/sim/arm/faults", lambda r: (self.arm.faults.clear(), Response(204))[1]),
        ])

    def state(self) -> dict:
        w = self.world
        w.tick()
        with w.lock:
            vms = [{"instance_id": vm.instance_id, "name": vm.name, "computer_name": vm.computer_name,
                    "provisioning": vm.provisioning, "power": vm.power, "protected": vm.protected,
                    "partitioned": vm.partitioned, "provider_id": vm.provider_id, "imds": self.imds.url_for(vm)}
                   for vm in (*w.listing(), w.master)]
            events = [{"group": g, **e.as_imds()} for g, e in w.board.all()]
            return {"scale_set": {"name": w.config.scale_set, "capacity": w.capacity, "etag": w.etag,
                                  "scale_in_rules": w.scale_in_rules},
                    "vms": vms, "events": events, "arm_faults": [f.as_dict() for f in self.arm.faults.active()]}

    def chaos(self, req: Request) -> Response:
        body, which, verb = req.json() or {}, req.params["which"], req.params["verb"]
        try:
            w = locate(self.arm.worlds.values(), which)[0]
            if verb == "terminate":
                w.terminate(which)
            elif verb == "partition":
                w.partition(which, bool(body.get("on", True)))
            else:
                kind = body.get("type", "Preempt") if verb == "events" else verb.capitalize()
                notice = float(body.get("notice", 30 if kind == "Preempt" else 10))
                named = [which, *body.get("also", [])] if body.get("also") else which
                event = w.schedule(named, kind, notice, source=body.get("source", "Platform"),
                                   duration_s=int(body.get("duration", 5 if kind == "Freeze" else -1)))
                return Response(201, event.as_imds())
        except KeyError as err:
            raise HttpError(404, {"error": str(err)}) from err
        return Response(204)

    def withdraw(self, req: Request) -> Response:
        if any(w.withdraw(req.params["event"]) for w in self.arm.worlds.values()):
            return Response(204)
        raise HttpError(409, {"error": "no such scheduled event, or it has started already"})

    def k3s_join(self, req: Request) -> Response:
        if self.kube is None:
            raise HttpError(404, {"error": "the simulator runs without Kubernetes"})
        try:
            vm = locate(self.arm.worlds.values(), req.params["which"])[1]
        except KeyError as err:
            raise HttpError(404, {"error": str(err)}) from err
        body = req.json() or {}
        try:
            labels = dict(str(label).split("=", 1) for label in body.get("labels") or [])
            token, password = str(body["token"]), str(body["password"])
        except (KeyError, ValueError) as err:
            raise HttpError(400, {"error": f"body needs token, password and key=value labels ({err!r})"}) from err
        try:
            node = self.kube.k3s_agent_join(vm.computer_name, token, password, labels=labels,
                                            taints=body.get("taints") or [], provider_id=vm.provider_id)
        except JoinRefused as err:
            raise HttpError(403, {"error": err.reason, "message": str(err)}) from err
        return Response(201, {"node": node["metadata"]["name"]})

    def scale(self, req: Request) -> Response:
        try:
            self.world.scale_to(int((req.json() or {})["capacity"]))
        except (KeyError, TypeError, ValueError) as err:
            raise HttpError(400, {"error": "body must be {\"capacity\": N}"}) from err
        except Refused as err:
            raise HttpError(err.status, {"error": err.message}) from err
        return Response(204)

    def add_fault(self, req: Request) -> Response:
        body = dict(req.json() or {})
        try:
            fault = self.arm.faults.add(body.pop("kind", ""), **body)
        except (TypeError, ValueError) as err:
            raise HttpError(400, {"error": str(err)}) from err
        return Response(201, fault.as_dict())
