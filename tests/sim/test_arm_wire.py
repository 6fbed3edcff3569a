"""The simulated ARM on the wire: auth, api-version, ETags, paging and operations, with plain requests."""
import pytest
import requests
from azure.mgmt.compute.operations import _operations as sdk


class Arm:
    def __init__(self, sim):
        self.sim, self.base = sim, sim.world.config.scale_set_id

    def __call__(self, method, path="", token=None, params=None, **kwargs):
        params = {"api-version": "2026-04-01", **(params or {})}
        headers = {"Authorization": f"Bearer {token or self.sim.arm_token}", **kwargs.pop("headers", {})}
        url = path if path.startswith("https://") else self.sim.arm_url + self.base + path
        return requests.request(method, url, params=params, headers=headers, verify=self.sim.ca_bundle,
                                timeout=5, **kwargs)


@pytest.fixture
def arm(sim):
    return Arm(sim)


def test_the_sim_speaks_the_api_version_our_sdk_sends(sim, arm):
    request = sdk.build_virtual_machine_scale_sets_get_request("rg", "vmss", "sub")
    assert arm("GET", params={"api-version": request.url.split("api-version=")[1]}).status_code == 200


def test_requests_without_a_valid_bearer_token_are_refused(arm):
    response = arm("GET", token="nope")
    assert response.status_code == 401 and response.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_requests_without_api_version_are_refused(sim, arm):
    response = requests.get(sim.arm_url + arm.base, headers={"Authorization": f"Bearer {sim.arm_token}"},
                            verify=sim.ca_bundle, timeout=5)
    assert response.status_code == 400


def test_other_scale_sets_do_not_exist(sim, arm):
    response = arm("GET", sim.arm_url + arm.base.replace("/agents", "/other"))
    assert response.status_code == 404


def test_a_stale_if_match_is_a_412(arm):
    etag = arm("GET").json()["etag"]
    assert arm("PATCH", json={"sku": {"capacity": 4}}, headers={"If-Match": etag}).status_code == 200
    assert arm("PATCH", json={"sku": {"capacity": 5}}, headers={"If-Match": etag}).status_code == 412


def test_updates_answer_with_an_async_operation_to_poll(arm):
    response = arm("PATCH", json={"sku": {"capacity": 4}})
    status = arm("GET", response.headers["Azure-AsyncOperation"]).json()
    assert status["status"] in ("InProgress", "Succeeded") and status["name"]
    assert "monitor=true" in response.headers["Location"]


def test_vm_listings_are_paged_with_next_links(arm):
    first = arm("GET", "/virtualMachines", params={"$expand": "instanceView"}).json()
    second = arm("GET", first["nextLink"]).json()
    assert [vm["instanceId"] for vm in first["value"] + second["value"]] == ["0", "1", "2"]
    assert "nextLink" not in second
    statuses = [s["code"] for s in second["value"][0]["properties"]["instanceView"]["statuses"]]
    assert statuses == ["ProvisioningState/succeeded", "PowerState/running"]


def test_instance_view_and_vm_shapes(arm):
    vm = arm("GET", "/virtualMachines/1").json()
    assert (vm["name"], vm["properties"]["osProfile"]["computerName"]) == ("agents_1", "agents000001")
    assert "instanceView" not in vm["properties"]
    view = arm("GET", "/virtualMachines/1/instanceView").json()
    assert view["computerName"] == "agents000001"


def test_scale_in_policy_is_honoured(arm):
    arm("PATCH", json={"properties": {"scaleInPolicy": {"rules": ["OldestVM"]}}})
    arm("PATCH", json={"sku": {"capacity": 2}})
    assert [vm["instanceId"] for vm in arm("GET", "/virtualMachines").json()["value"]] == ["1", "2"]


def test_simulate_eviction_announces_a_preemption(sim, arm):
    assert arm("POST", "/virtualMachines/0/simulateEviction").status_code == 204
    assert [e.event_type for _, e in sim.world.board.all()] == ["Preempt"]


def test_delete_needs_instance_ids(arm):
    assert arm("POST", "/delete", json={}).status_code == 400


def test_faults_can_be_scoped_to_a_method_and_counted(sim, arm):
    sim.arm_fault("throttle", count=1, method="PATCH", retry_after=3)
    assert arm("GET").status_code == 200
    throttled = arm("PATCH", json={})
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "3")
    assert arm("PATCH", json={}).status_code == 200
