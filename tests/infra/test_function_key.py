"""The agents' function key reaches Key Vault for real: publish reads the app's default host key through ARM
and writes it as the secret the VMs' FUNCTION_KEY_SECRET_URI names; nothing prints it."""
import pytest

from ops import function_key
from ops import params as P
from ops.errors import OpsError
from tests.infra.ops_support import azure_for


def test_publish_writes_the_apps_default_key_where_the_vms_read_it(sim):
    az = azure_for(sim, SSH_ALLOWED_CIDRS="203.0.113.7/32")
    for group in (az.config["COMPUTE_GROUP"], az.config.storage_group):
        az.resources.resource_groups.create_or_update(group, {"location": "westeurope"})
    lines = []
    secret_id = function_key.deliver(az, say=lines.append)
    key = sim.arm.sites.site_keys["default"]
    assert sim.arm.sites.secrets == {(az.config.key_vault.lower(), "agent-function-key"): key}
    assert secret_id.endswith(f"/vaults/{az.config.key_vault}/secrets/agent-function-key")
    assert P.function_key_uri(az.config).endswith("/secrets/agent-function-key")
    assert key not in " ".join(lines) and function_key.operator_key(az) == sim.arm.sites.site_keys["masterKey"]


def test_an_app_that_does_not_exist_is_one_clear_error(sim):
    az = azure_for(sim, COMPUTE_GROUP="k3s-nowhere")
    with pytest.raises(OpsError, match="host keys could not be read: HTTP 404"):
        function_key.deliver(az, say=lambda _: None, tries=2, sleep=lambda _: None)
