"""What `publish` and `destroy-compute` touch beyond deployments: the Function App's host keys
(`POST .../sites/{app}/host/default/listkeys`, as `az functionapp keys list` reads them), Key Vault
secrets written through ARM (`PUT .../vaults/{vault}/secrets/{name}`: the value is kept for tests,
never echoed), and role assignments deleted by id.

`site_keys` are the keys the app answers with: tests set them to the dev host's, so the key publish
writes to the vault is the one the app accepts.
"""
from __future__ import annotations

import secrets

from sim import arm_json as J
from sim.arm_groups import GROUP
from sim.http import Request, Response

SITE = GROUP + r"/providers/Microsoft\.Web/sites/(?P<site>[^/]+)"
SECRET = GROUP + r"/providers/Microsoft\.KeyVault/vaults/(?P<vault>[^/]+)/secrets/(?P<secret>[^/]+)"
ASSIGNMENT = r"(?P<scope>/subscriptions/.+)/providers/Microsoft\.Authorization/roleAssignments/(?P<name>[^/]+)"


class Sites:
    def __init__(self, groups):
        self.groups = groups
        self.site_keys = {"masterKey": secrets.token_urlsafe(32), "default": secrets.token_urlsafe(32)}
        self.secrets: dict[tuple[str, str], str] = {}  # (vault, secret) -> value
        self.assignments: set[str] = set()  # role assignment ids that exist (tests add them)
        self.deleted_assignments: list[str] = []

    def routes(self):
        return [("POST", SITE + "/host/default/listkeys", self.list_keys), ("PUT", SECRET, self.put_secret),
                ("DELETE", ASSIGNMENT, self.delete_assignment)]

    def list_keys(self, req: Request) -> Response:
        self.groups.find(req)
        return Response(200, {"masterKey": self.site_keys["masterKey"],
                              "functionKeys": {"default": self.site_keys["default"]}, "systemKeys": {}})

    def put_secret(self, req: Request) -> Response:
        self.groups.find(req)
        value = ((req.json() or {}).get("properties") or {}).get("value")
        if not isinstance(value, str) or not value:
            return Response(400, J.error("BadRequest", "properties.value is required"))
        key = (req.params["vault"].lower(), req.params["secret"])
        created = key not in self.secrets
        self.secrets[key] = value
        uri = f"https://{req.params['vault']}.vault.azure.net/secrets/{req.params['secret']}"
        return Response(201 if created else 200, {"id": req.path, "name": req.params["secret"],
                                                  "type": "Microsoft.KeyVault/vaults/secrets",
                                                  "properties": {"secretUri": uri, "attributes": {"enabled": True}}})

    def delete_assignment(self, req: Request) -> Response:
        rid = req.path
        if rid.lower() not in {a.lower() for a in self.assignments}:
            return Response(204)
        self.assignments = {a for a in self.assignments if a.lower() != rid.lower()}
        self.deleted_assignments.append(rid)
        return Response(200, {"id": rid, "name": req.params["name"],
                              "type": "Microsoft.Authorization/roleAssignments", "properties": {}})
