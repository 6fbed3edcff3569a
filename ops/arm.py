"""Azure SDK clients for the operator: DefaultAzureCredential in Azure, a static token against the
simulator (ARM_ENDPOINT, ARM_STATIC_TOKEN, ARM_CA_BUNDLE). Nothing here shells out to `az`."""
from __future__ import annotations

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

    @cached_property
    def resources(self):
        from azure.mgmt.resource.resources import ResourceManagementClient

        return ResourceManagementClient(self.credential, self.config.subscription, **self._options())

    @cached_property
    def deployments(self):
        from azure.mgmt.resource.deployments import DeploymentsMgmtClient

        return DeploymentsMgmtClient(self.credential, self.config.subscription, **self._options())

    @cached_property
    def storage(self):
        from azure.mgmt.storage import StorageManagementClient

        return StorageManagementClient(self.credential, self.config.subscription, **self._options())

    @cached_property
    def subscriptions(self):
        from azure.mgmt.subscription import SubscriptionClient

        return SubscriptionClient(self.credential, **self._options())

    @cached_property
    def compute(self):
        from azure.mgmt.compute import ComputeManagementClient

        return ComputeManagementClient(self.credential, self.config.subscription, **self._options())

    @cached_property
    def network(self):
        from azure.mgmt.network import NetworkManagementClient

        return NetworkManagementClient(self.credential, self.config.subscription, **self._options())

    def arm_token(self) -> str:
        scope = self.config["ARM_ENDPOINT"].rstrip("/") + "/.default"
        return self.credential.get_token(scope).token
