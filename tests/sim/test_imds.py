"""IMDS of the simulated VMs: the real paths and rules, one base URL per VM."""
import jwt
import pytest
import requests

M = {"Metadata": "true"}


def get(sim, which, path, headers=M, **params):
    return requests.get(f"{sim.imds_for(which)}{path}", headers=headers, params=params, timeout=5)


def test_the_metadata_header_is_required(sim):
    response = get(sim, 0, "/metadata/instance", headers={}, **{"api-version": "2021-02-01"})
    assert response.status_code == 400
    assert "metadata header" in response.json()["error"].lower()


def test_an_api_version_is_required(sim):
    response = get(sim, 0, "/metadata/scheduledevents")
    assert response.status_code == 400
    assert "newest-versions" in response.json()


def test_instance_metadata_describes_the_scale_set_vm(sim):
    compute = get(sim, 1, "/metadata/instance", **{"api-version": "2021-02-01"}).json()["compute"]
    vm = sim.vm(1)
    assert compute["name"] == "agents_1" and compute["osProfile"]["computerName"] == "agents000001"
    assert (compute["vmId"], compute["vmScaleSetName"], compute["priority"]) == (vm.vm_id, "agents", "Spot")
    assert compute["resourceId"].endswith("/virtualMachineScaleSets/agents/virtualMachines/1")
    assert (compute["subscriptionId"], compute["resourceGroupName"]) == (sim.subscription_id, "k3s-compute")


def test_a_leaf_can_be_read_as_text(sim):
    response = get(sim, "agents000002", "/metadata/instance/compute/name", format="text",
                   **{"api-version": "2021-02-01"})
    assert (response.status_code, response.text) == (200, "agents_2")


def test_master0_is_a_regular_standalone_vm(sim):
    compute = get(sim, "master0", "/metadata/instance", **{"api-version": "2021-02-01"}).json()["compute"]
    assert (compute["name"], compute["vmScaleSetName"], compute["priority"]) == ("master0", "", "Regular")
    assert compute["resourceId"].endswith("/virtualMachines/master0")


@pytest.mark.parametrize("who", ["agents000000", "master0"])
def test_identity_tokens_are_rs256_jwts_for_the_vm_identity(sim, who):
    body = get(sim, who, "/metadata/identity/oauth2/token", resource="api://nodepool",
               **{"api-version": "2018-02-01"}).json()
    ident = sim.master_identity if who == "master0" else sim.agent_identity
    assert (body["token_type"], body["resource"], body["client_id"]) == ("Bearer", "api://nodepool", ident.client_id)
    assert int(body["expires_on"]) > int(body["not_before"])
    key = sim.idp.keys[0].key.public_key()
    claims = jwt.decode(body["access_token"], key, algorithms=["RS256"], audience="api://nodepool")
    assert (claims["oid"], claims["appid"], claims["xms_mirid"], claims["tid"]) == (
        ident.principal_id, ident.client_id, ident.resource_id, sim.tenant_id)
    assert claims["iss"] == f"https://sts.windows.net/{sim.tenant_id}/"


def test_asking_for_another_identity_is_refused(sim):
    response = get(sim, 0, "/metadata/identity/oauth2/token", resource="api://nodepool",
                   client_id=sim.master_identity.client_id, **{"api-version": "2018-02-01"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_a_deleted_vm_has_no_imds_any_more(sim):
    url = sim.imds_for(2)
    sim.terminate(2)
    response = requests.get(f"{url}/metadata/instance", headers=M, params={"api-version": "2021-02-01"}, timeout=5)
    assert response.status_code == 404
