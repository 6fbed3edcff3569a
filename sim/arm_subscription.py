"""What `tasks.py preflight` reads of a subscription, in the shapes of Microsoft's REST API examples
(../shared/vectors/azure-rest, checked by tests/sim/test_arm_vectors.py): the offer (quotaId), VM
sizes with their capabilities (every value a string, `LowPriorityCapable` "True"/"False"), vCPU
usages with the real quota names (`cores`, `lowPriorityCores`, `<family>`), resource providers
(register moves NotRegistered -> Registering -> Registered), the caller's permissions in a group,
and the global name checks of storage accounts, sites and vaults. Also the two Microsoft Graph
policies preflight reads (authorizationPolicy, defaultAppManagementPolicy), in the shapes of Graph's
v1.0 reference (no REST example of them is in the vectors).

Tests change the attributes to play a subscription that would fail: `quota_id`, `usages`,
`providers`, `permissions`, `taken`, `sizes`.
"""
from __future__ import annotations

from dataclasses import dataclass

from sim import arm_json as J
from sim.arm_groups import GROUP, SUB
from sim.http import HttpError, Request, Response

PROVIDER = SUB + r"/providers/(?P<ns>Microsoft\.[A-Za-z]+)"


@dataclass(frozen=True)
class Size:
    name: str
    family: str
    vcpus: int
    memory_gb: float
    spot: bool


SIZES = (Size("Standard_B2s", "standardBSFamily", 2, 4, False),
         Size("Standard_B2ms", "standardBSFamily", 2, 8, False),
         Size("Standard_D2as_v5", "standardDASv5Family", 2, 8, True),
         Size("Standard_D4as_v5", "standardDASv5Family", 4, 16, True),
         Size("Standard_D4s_v5", "standardDSv5Family", 4, 16, True))
NAMES = {"cores": "Total Regional vCPUs", "lowPriorityCores": "Total Regional Low-priority vCPUs",
         "standardBSFamily": "Standard BS Family vCPUs", "standardDASv5Family": "Standard DASv5 Family vCPUs",
         "standardDSv5Family": "Standard DSv5 Family vCPUs"}
CHECKED_PROVIDERS = ("Microsoft.App", "Microsoft.Compute", "Microsoft.Network", "Microsoft.Storage", "Microsoft.Web",
                     "Microsoft.KeyVault", "Microsoft.Insights", "Microsoft.OperationalInsights",
                     "Microsoft.ManagedIdentity")


class Subscription:
    def __init__(self, groups):
        self.groups, self.location = groups, groups.world.config.location
        self.quota_id = "PayAsYouGo_2014-09-01"
        self.sizes = list(SIZES)
        self.usages = {name: [0, 100] for name in NAMES}  # name -> [currentValue, limit]
        self.providers = {ns: "Registered" for ns in CHECKED_PROVIDERS}
        self.providers["Microsoft.App"] = "NotRegistered"  # a fresh subscription's, as deploy-compute finds it
        self.permissions = {"actions": ["*"], "notActions": []}  # the caller's, in every group
        self.taken: set[str] = set()  # global names someone else holds (storage accounts, sites, vaults)
        self.users_may_register_apps = True

    def routes(self):
        return [("GET", SUB, self.get), ("GET", SUB + r"/providers/Microsoft\.Compute/skus", self.skus),
                ("GET", SUB + r"/providers/Microsoft\.Compute/locations/(?P<loc>[^/]+)/usages", self.list_usages),
                ("GET", PROVIDER, self.provider), ("POST", PROVIDER + "/register", self.register),
                ("GET", GROUP + r"/providers/Microsoft\.Authorization/permissions", self.list_permissions),
                ("POST", SUB + r"/providers/(?P<ns>Microsoft\.(?:Storage|Web|KeyVault))/checkNameAvailability",
                 self.check_name),
                ("GET", r"/v1\.0/policies/authorizationPolicy", self.authorization_policy),
                ("GET", r"/v1\.0/policies/defaultAppManagementPolicy", self.app_management_policy)]

    def get(self, req: Request) -> Response:
        sub = req.params["sub"]
        return Response(200, {"id": f"/subscriptions/{sub}", "subscriptionId": sub, "displayName": "simulated",
                              "state": "Enabled", "subscriptionPolicies": {
                                  "locationPlacementId": "Public_2014-09-01", "quotaId": self.quota_id,
                                  "spendingLimit": "Off"}})

    def skus(self, req: Request) -> Response:
        return Response(200, {"value": [self._sku(size) for size in self.sizes], "nextLink": None})

    def _sku(self, size: Size) -> dict:
        capabilities = {"vCPUs": str(size.vcpus), "MemoryGB": f"{size.memory_gb:g}",
                        "LowPriorityCapable": str(size.spot), "HyperVGenerations": "V1,V2",
                        "vCPUsAvailable": str(size.vcpus), "PremiumIO": "True"}
        return {"resourceType": "virtualMachines", "locations": [self.location],
                "capabilities": [{"name": k, "value": v} for k, v in capabilities.items()],
                "locationInfo": [{"location": self.location, "zones": ["1", "2", "3"]}],
                "name": size.name, "tier": "Standard", "size": size.name.removeprefix("Standard_"),
                "family": size.family, "restrictions": []}

    def list_usages(self, req: Request) -> Response:
        value = [{"unit": "Count", "currentValue": current, "limit": limit,
                  "name": {"value": name, "localizedValue": NAMES.get(name, name)}}
                 for name, (current, limit) in self.usages.items()]
        return Response(200, {"value": value})

    def _provider_body(self, sub: str, ns: str) -> dict:
        state = self.providers.get(ns, "NotRegistered")
        return {"id": f"/subscriptions/{sub}/providers/{ns}", "namespace": ns,
                "registrationPolicy": "RegistrationRequired", "registrationState": state, "resourceTypes": []}

    def provider(self, req: Request) -> Response:
        ns = req.params["ns"]
        body = self._provider_body(req.params["sub"], ns)
        if self.providers.get(ns) == "Registering":  # done by the next read, as a real one is in minutes
            self.providers[ns] = "Registered"
        return Response(200, body)

    def register(self, req: Request) -> Response:
        ns = req.params["ns"]
        if self.providers.get(ns) != "Registered":
            self.providers[ns] = "Registering"
        return Response(200, self._provider_body(req.params["sub"], ns))

    def list_permissions(self, req: Request) -> Response:
        self.groups.find(req)
        return Response(200, {"value": [{**self.permissions, "dataActions": [], "notDataActions": []}]})

    def check_name(self, req: Request) -> Response:
        body = req.json() or {}
        name = str(body.get("name", ""))
        if not name:
            raise HttpError(400, J.error("InvalidRequestContent", "name is required"))
        if name.lower() in self.taken:
            return Response(200, {"nameAvailable": False, "reason": "AlreadyExists",
                                  "message": f"The name {name} is already taken."})
        return Response(200, {"nameAvailable": True})

    def authorization_policy(self, req: Request) -> Response:
        return Response(200, {"id": "authorizationPolicy", "displayName": "Authorization Policy",
                              "defaultUserRolePermissions": {"allowedToCreateApps": self.users_may_register_apps,
                                                             "allowedToCreateSecurityGroups": True}})

    def app_management_policy(self, req: Request) -> Response:
        return Response(200, {"id": "00000000-0000-0000-0000-000000000000", "isEnabled": True,
                              "applicationRestrictions": {"identifierUris": {"nonDefaultUriAddition": {
                                  "state": "enabled", "excludeAppsReceivingV2Tokens": True, "excludeSaml": True}}}})
