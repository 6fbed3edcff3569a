"""ARM template deployments into a resource group, as azure-mgmt-resource-deployments speaks them.

PUT validates what ARM validates before it starts (the group exists; every parameter given is
declared; every parameter without a default is given) and starts one operation per template
resource; operations finish one after another, `step_s` apart, so watch-deployment sees them
progress. Outputs: literal values are returned as declared; `[expressions]` as their text, unless
`outputs` (group -> name -> value) says what the real deployment would return. A resource named in
`fail` ends Failed, and the deployment with it.

POST .../validate and .../whatIf answer as Microsoft's examples do (PostDeploymentValidate-,
PostDeploymentWhatIfOnResourceGroup.json): 200 with validatedResources, or 400 with
InvalidTemplateDeployment -> PreflightValidationCheckFailed -> the problems (the same checks, plus
`preflight_errors`, code -> message, for tests); what-if lists each template resource as a Create,
or NoChange when the group already holds it.
"""
from __future__ import annotations

import threading
import uuid

from sim import arm_json as J
from sim.arm_groups import GROUP, Groups
from sim.http import HttpError, Request, Response
from sim.operations import FAILED

DEPLOYMENTS = GROUP + r"(?:/providers/Microsoft\.Resources)?/deployments"  # ARM serves both spellings
DEPLOYMENT = DEPLOYMENTS + r"/(?P<name>[^/]+)"


class Deployments:
    def __init__(self, arm, groups: Groups, step_s: float = 0.05):
        self.arm, self.groups, self.clock, self.step_s = arm, groups, arm.world.clock, step_s
        self.fail: set[str] = set()
        self.preflight_errors: dict[str, str] = {}  # code -> message: what validate refuses besides parameters
        self.outputs: dict[str, dict] = {}  # group -> output name -> value, for expression outputs
        self.validated: list[str] = []  # deployment names validated, in order (tests)
        self.lock = threading.Lock()
        self.items: dict[tuple[str, str], dict] = {}

    def routes(self):
        return [("PUT", DEPLOYMENT, self.put), ("GET", DEPLOYMENT, self.get),
                ("POST", DEPLOYMENT + "/validate", self.validate), ("POST", DEPLOYMENT + "/whatIf", self.what_if),
                ("GET", DEPLOYMENT + "/operations", self.operations),
                ("GET", DEPLOYMENTS, self.list)]

    def _key(self, req: Request) -> tuple[str, str]:
        return req.params["rg"].lower(), req.params["name"].lower()

    @staticmethod
    def _problems(template: dict, given: dict) -> list[str]:
        declared = template.get("parameters") or {}
        problems = [f"The template parameter '{n}' is not valid; it is not declared in the template."
                    for n in given if n not in declared]
        return problems + [f"The value for the template parameter '{n}' is not provided."
                           for n, spec in declared.items() if "defaultValue" not in spec and n not in given]

    @staticmethod
    def _resources(template: dict) -> list[dict]:
        resources = template.get("resources") or []
        return list(resources.values()) if isinstance(resources, dict) else resources  # languageVersion 2.0

    def validate(self, req: Request) -> Response:
        self.groups.find(req)
        props = (req.json() or {}).get("properties") or {}
        template = props.get("template") or {}
        self.validated.append(req.params["name"])
        details = [{"code": "InvalidTemplate", "message": m, "target": req.params["name"]}
                   for m in self._problems(template, props.get("parameters") or {})]
        details += [{"code": code, "message": message, "target": req.params["name"]}
                    for code, message in self.preflight_errors.items()]
        if details:
            return Response(400, {"error": {
                "code": "InvalidTemplateDeployment",
                "message": "The template deployment failed with multiple errors. Please see details for more "
                           "information.",
                "details": [{"code": "PreflightValidationCheckFailed", "message": "Preflight validation failed. Please "
                             "refer to the details for the specific errors.", "details": details}]}},
                {"x-ms-correlation-request-id": str(uuid.uuid4()), "x-ms-request-id": str(uuid.uuid4())})
        base = self._rid(req)
        return Response(200, {"id": f"{base}/providers/Microsoft.Resources/deployments/{req.params['name']}",
                              "name": req.params["name"], "type": "Microsoft.Resources/deployments",
                              "properties": {"provisioningState": "Succeeded", "mode": "Incremental",
                                             "timestamp": J.iso(self.clock()), "duration": "PT0.5S",
                                             "validatedResources": [{"id": f"{base}/{r.get('name')}"}
                                                                    for r in self._resources(template)],
                                             "diagnostics": [], "providers": [], "templateHash": "0",
                                             "correlationId": str(uuid.uuid4())}})

    def what_if(self, req: Request) -> Response:
        group = self.groups.find(req)
        template = ((req.json() or {}).get("properties") or {}).get("template") or {}
        held = {r["name"].lower() for r in self.groups.resources.get(group["name"].lower(), [])}
        base = self._rid(req)
        changes = []
        for res in self._resources(template):
            rid = f"{base}/providers/{res.get('type')}/{res.get('name')}"
            after = {"name": res.get("name"), "type": res.get("type"), "apiVersion": res.get("apiVersion"), "id": rid,
                     "location": res.get("location") or group["location"], "tags": res.get("tags") or {}}
            changes.append({"resourceId": rid, "after": after,
                            "changeType": "NoChange" if str(res.get("name", "")).lower() in held else "Create"})
        return Response(200, {"status": "Succeeded", "properties": {"changes": changes}})

    def put(self, req: Request) -> Response:
        group = self.groups.find(req)
        props = (req.json() or {}).get("properties") or {}
        template, given = props.get("template") or {}, props.get("parameters") or {}
        problems = self._problems(template, given)
        if problems:
            raise HttpError(400, J.error("InvalidTemplate", " ".join(problems)))
        resources = self._resources(template)
        now, ops = self.clock(), []
        for i, res in enumerate(resources):
            name = str(res.get("name", f"resource{i}"))
            ops.append({"id": str(uuid.uuid4()), "type": res.get("type", "?"), "name": name,
                        "due": now + self.step_s * (i + 1), "fails": name in self.fail})
        known = self.outputs.get(group["name"].lower(), {})
        item = {"name": req.params["name"], "group": group["name"], "started": now, "ops": ops,
                "outputs": {k: {"type": v.get("type", "string"), "value": known.get(k, v.get("value"))}
                            for k, v in (template.get("outputs") or {}).items()}}
        with self.lock:
            self.items[self._key(req)] = item
        with self.groups.lock:
            self.groups.resources.setdefault(group["name"].lower(), []).extend(
                {"id": f"{self._rid(req)}/{op['name']}", "name": op["name"], "type": op["type"],
                 "location": group["location"]} for op in ops if not op["fails"])
        return self.arm._accepted(req, 201, lambda: self._state(item) != "Running", self._body(req, item),
                                  failed=lambda: self._state(item) == "Failed")

    def _rid(self, req: Request) -> str:
        return f"/subscriptions/{req.params['sub']}/resourceGroups/{req.params['rg']}"

    def _op_state(self, op: dict) -> str:
        if self.clock() < op["due"]:
            return "Running"
        return "Failed" if op["fails"] else "Succeeded"

    def _state(self, item: dict) -> str:
        states = [self._op_state(op) for op in item["ops"]]
        if "Running" in states:
            return "Running"
        return "Failed" if "Failed" in states else "Succeeded"

    def _body(self, req: Request, item: dict) -> dict:
        state = self._state(item)
        props = {"provisioningState": state, "timestamp": J.iso(item["started"]), "mode": "Incremental",
                 "correlationId": str(uuid.uuid5(uuid.NAMESPACE_URL, item["name"]))}
        if state == "Succeeded":
            props["outputs"] = item["outputs"]
        if state == "Failed":
            props["error"] = {"code": "DeploymentFailed", "message": FAILED}
        return {"id": f"{self._rid(req)}/providers/Microsoft.Resources/deployments/{item['name']}",
                "name": item["name"], "type": "Microsoft.Resources/deployments", "properties": props}

    def _item(self, req: Request) -> dict:
        self.groups.find(req)
        item = self.items.get(self._key(req))
        if item is None:
            name = req.params["name"]
            raise HttpError(404, J.error("DeploymentNotFound", f"Deployment '{name}' could not be found."))
        return item

    def get(self, req: Request) -> Response:
        return Response(200, self._body(req, self._item(req)))

    def list(self, req: Request) -> Response:
        group = self.groups.find(req)
        mine = [i for (g, _), i in self.items.items() if g == group["name"].lower()]
        return Response(200, {"value": [self._body(req, i) for i in mine]})

    def operations(self, req: Request) -> Response:
        item, base = self._item(req), self._rid(req)
        value = []
        for op in item["ops"]:
            state = self._op_state(op)
            deployment = f"{base}/providers/Microsoft.Resources/deployments/{item['name']}"
            value.append({"id": f"{deployment}/operations/{op['id']}",
                          "operationId": op["id"], "properties": {
                              "provisioningOperation": "Create", "provisioningState": state,
                              "timestamp": J.iso(min(self.clock(), op["due"])),
                              "statusCode": {"Succeeded": "OK", "Failed": "Conflict"}.get(state, ""),
                              "targetResource": {"id": f"{base}/{op['name']}", "resourceType": op["type"],
                                                 "resourceName": op["name"]}}})
        return Response(200, {"value": value})
