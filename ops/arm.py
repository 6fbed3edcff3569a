"""Azure SDK clients for the operator: DefaultAzureCredential in Azure, a static token against the
simulator (ARM_ENDPOINT, ARM_STATIC_TOKEN, ARM_CA_BUNDLE). Nothing here shells out to `az`."""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from functools import cached_property

from azure.core.credentials import AccessToken

from ops.config import Config


def text(value) -> str:
    """An SDK enum or a plain string, as ARM spells it ('Succeeded', 'Spot')."""
    return str(getattr(value, "value", value) or "")


class StaticToken:
    def __init__(self, token: str):
        self._token = token

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)


@dataclass
class Azure:
    config: Config
    polling_interval: float = 5.0

    @cached_property
    def credential(self):
        if self.config["ARM_STATIC_TOKEN"]:
            return StaticToken(self.config["ARM_STATIC_TOKEN"])
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def _options(self) -> dict:
        options = {"base_url": self.config["ARM_ENDPOINT"], "polling_interval": self.polling_interval}
        if self.config["ARM_CA_BUNDLE"]:
            options["connection_verify"] = self.config["ARM_CA_BUNDLE"]
        return options

    def _client(self, module: str, name: str, per_subscription: bool = True):
        """Imported on first use: each task loads only the SDKs it needs."""
        cls = getattr(importlib.import_module(module), name)
        args = (self.credential, self.config.subscription) if per_subscription else (self.credential,)
        return cls(*args, **self._options())

    @cached_property
    def resources(self):
        return self._client("azure.mgmt.resource.resources", "ResourceManagementClient")

    @cached_property
    def deployments(self):
        return self._client("azure.mgmt.resource.deployments", "DeploymentsMgmtClient")

    @cached_property
    def storage(self):
        return self._client("azure.mgmt.storage", "StorageManagementClient")

    @cached_property
    def subscriptions(self):
        return self._client("azure.mgmt.subscription", "SubscriptionClient", per_subscription=False)

    @cached_property
    def compute(self):
        return self._client("azure.mgmt.compute", "ComputeManagementClient")

    @cached_property
    def network(self):
        return self._client("azure.mgmt.network", "NetworkManagementClient")

    @cached_property
    def web(self):
        return self._client("azure.mgmt.web", "WebSiteManagementClient")

    @cached_property
    def keyvault(self):
        return self._client("azure.mgmt.keyvault", "KeyVaultManagementClient")

    @cached_property
    def authorization(self):
        return self._client("azure.mgmt.authorization", "AuthorizationManagementClient")

    def arm_token(self) -> str:
        scope = self.config["ARM_ENDPOINT"].rstrip("/") + "/.default"
        return self.credential.get_token(scope).token
