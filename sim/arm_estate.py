"""The rest of what the operator's tasks read or create in the groups: file shares of a storage
account (list, create) and public IP addresses (with their DNS names). Resources come into being
through deployments (sim/arm_deployments.py) or, for shares, these PUTs.
"""
from __future__ import annotations

from sim import arm_json as J
from sim.arm_groups import GROUP, Groups
from sim.http import HttpError, Request, Response

ACCOUNT = GROUP + r"/providers/Microsoft\.Storage/storageAccounts/(?P<account>[^/]+)"
SHARES = ACCOUNT + r"/fileServices/default/shares"


class Estate:
    def __init__(self, groups: Groups):
        self.groups = groups
        self.shares: dict[tuple[str, str], dict[str, dict]] = {}  # (group, account) -> share -> body
        self.fqdns: dict[str, dict[str, str]] = {}  # group -> public IP name -> fqdn

    def routes(self):
        return [("GET", SHARES, self.list_shares), ("PUT", SHARES + r"/(?P<share>[^/]+)", self.put_share),
                ("GET", GROUP + r"/providers/Microsoft\.Network/publicIPAddresses", self.public_ips)]

    def _account(self, req: Request) -> tuple[str, str]:
        group = self.groups.find(req)
        account = req.params["account"].lower()
        names = {r["name"].lower() for r in self.groups.resources.get(group["name"].lower(), [])
                 if r["type"] == "Microsoft.Storage/storageAccounts"}
        if account not in names:
            raise HttpError(404, J.error("ResourceNotFound", f"The storage account '{account}' was not found."))
        return group["name"].lower(), account

    def list_shares(self, req: Request) -> Response:
        return Response(200, {"value": list(self.shares.get(self._account(req), {}).values())})

    def put_share(self, req: Request) -> Response:
        key, share = self._account(req), req.params["share"]
        props = (req.json() or {}).get("properties") or {}
        body = {"id": req.path, "name": share, "type": "Microsoft.Storage/storageAccounts/fileServices/shares",
                "properties": {"shareQuota": props.get("shareQuota", 5120),
                               "enabledProtocols": props.get("enabledProtocols", "SMB")}}
        created = share not in self.shares.setdefault(key, {})
        self.shares[key][share] = body
        return Response(201 if created else 200, body)

    def public_ips(self, req: Request) -> Response:
        group = self.groups.find(req)
        base = f"/subscriptions/{req.params['sub']}/resourceGroups/{group['name']}"
        value = [{"id": f"{base}/providers/Microsoft.Network/publicIPAddresses/{name}", "name": name,
                  "location": group["location"], "properties": {"dnsSettings": {"fqdn": fqdn}}}
                 for name, fqdn in self.fqdns.get(group["name"].lower(), {}).items()]
        return Response(200, {"value": value})
