"""The simulated ARM answers preflight's, deploy's and drill's reads in the shapes of Microsoft's own REST
API examples (../shared/vectors/azure-rest, copied verbatim from Azure/azure-rest-api-specs; see its
README): every key an example's body has, ours has too, with a value of the same JSON type. And
preflight's parsing reads the examples themselves as it reads the simulator."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from ops.preflight_rules import allows, skus_by_name

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "azure-rest"
pytestmark = pytest.mark.skipif(not VECTORS.is_dir(), reason=f"no REST examples at {VECTORS} (../shared is "
                                "laid beside the repository on the project's machines)")
OPTIONAL = {"nextLink", "templateLink", "dependencies", "parameters", "zoneDetails", "before", "delta",
            "registrationPolicy"}  # example-only keys: absent or null in real answers too
FREE_FORM = {"tags"}  # objects whose keys are data, not schema


def example(name: str, status: str = "200") -> dict:
    return json.loads((VECTORS / name).read_text())["responses"][status]


def shape_problems(theirs, ours, path: str = "$") -> list[str]:
    if theirs is None:
        return []
    if isinstance(theirs, dict):
        if not isinstance(ours, dict):
            return [f"{path}: object expected, got {type(ours).__name__}"]
        if path.rsplit(".", 1)[-1] in FREE_FORM:
            return []
        found = []
        for key, value in theirs.items():
            if key not in ours:
                if key not in OPTIONAL:
                    found.append(f"{path}.{key}: missing")
                continue
            found += shape_problems(value, ours[key], f"{path}.{key}")
        return found
    if isinstance(theirs, list):
        if not isinstance(ours, list):
            return [f"{path}: array expected"]
        return shape_problems(theirs[0], ours[0], f"{path}[0]") if theirs and ours else []
    if type(theirs) is not type(ours) and not (isinstance(theirs, (int, float)) and isinstance(ours, (int, float))):
        return [f"{path}: {type(theirs).__name__} expected, got {type(ours).__name__} ({ours!r})"]
    return []


@pytest.fixture
def arm(sim):
    headers = {"Authorization": f"Bearer {sim.arm_token}"}
    sub = f"{sim.arm_url}/subscriptions/{sim.subscription_id}"

    def call(method: str, path: str, version: str, body=None) -> requests.Response:
        return requests.request(method, f"{sub}{path}", params={"api-version": version}, json=body, headers=headers,
                                verify=sim.ca_bundle, timeout=30)
    sim.arm.groups.groups["rg"] = {"name": "rg", "location": "westeurope", "tags": {}}
    return call


READS = [  # (example file, method, path under the subscription, body)
    ("Microsoft.Compute/2021-07-01/ListAvailableResourceSkus.json", "GET", "/providers/Microsoft.Compute/skus", None),
    ("Microsoft.Compute/2026-04-01/Usage_List_MaximumSet_Gen.json", "GET",
     "/providers/Microsoft.Compute/locations/westeurope/usages", None),
    ("Microsoft.Resources/2025-04-01/GetProvider.json", "GET", "/providers/Microsoft.App", None),
    ("Microsoft.Authorization/2022-04-01/GetPermissions.json", "GET",
     "/resourcegroups/rg/providers/Microsoft.Authorization/permissions", None),
    ("Microsoft.Storage/2026-04-01/StorageAccountCheckNameAvailability.json", "POST",
     "/providers/Microsoft.Storage/checkNameAvailability",
     {"name": "sto3363", "type": "Microsoft.Storage/storageAccounts"}),
]


@pytest.mark.parametrize("name,method,path,body", READS, ids=[r[0].rsplit("/", 1)[1] for r in READS])
def test_the_simulators_answer_has_the_examples_shape(arm, name, method, path, body):
    version = json.loads((VECTORS / name).read_text())["parameters"]["api-version"]
    answer = arm(method, path, version, body)
    assert answer.status_code == 200, answer.text
    assert shape_problems(example(name)["body"], answer.json()) == []


TEMPLATE = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "parameters": {"name": {"type": "string"}},
            "resources": [{"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2026-09-01", "name": "a"}]}


def test_validate_answers_200_and_400_as_the_example_does(arm, sim):
    name = "Microsoft.Resources/2026-06-01/PostDeploymentValidateOnResourceGroup.json"
    path = "/resourcegroups/rg/providers/Microsoft.Resources/deployments/d/validate"
    good = arm("POST", path, "2026-06-01", {"properties": {"mode": "Incremental", "template": TEMPLATE,
                                                             "parameters": {"name": {"value": "x"}}}})
    assert good.status_code == 200 and shape_problems(example(name)["body"], good.json()) == []
    sim.arm.deployments.preflight_errors["AccountNameInvalid"] = "a is not a valid storage account name."
    bad = arm("POST", path, "2026-06-01", {"properties": {"mode": "Incremental", "template": TEMPLATE}})
    assert bad.status_code == 400 and shape_problems(example(name, "400")["body"], bad.json()) == []
    codes = [d["code"] for d in bad.json()["error"]["details"][0]["details"]]
    assert codes == ["InvalidTemplate", "AccountNameInvalid"]


def test_what_if_answers_as_the_example_does(arm):
    name = "Microsoft.Resources/2026-06-01/PostDeploymentWhatIfOnResourceGroup.json"
    answer = arm("POST", "/resourcegroups/rg/providers/Microsoft.Resources/deployments/d/whatIf", "2026-06-01",
                 {"properties": {"mode": "Incremental", "template": TEMPLATE, "parameters": {"name": {"value": "x"}}}})
    assert answer.status_code == 200 and shape_problems(example(name)["body"], answer.json()) == []


def test_simulate_eviction_answers_204_with_no_body_as_the_example_does(arm, sim):
    name = "Microsoft.Compute/2026-04-01/VirtualMachineScaleSetVM_SimulateEviction.json"
    assert set(json.loads((VECTORS / name).read_text())["responses"]) == {"204"}
    rg, vm = sim.world.config.resource_group, sim.vms[0]
    answer = arm("POST", f"/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/"
                 f"{sim.world.config.scale_set}/virtualMachines/{vm.instance_id}/simulateEviction", "2026-04-01")
    assert answer.status_code == 204 and answer.content == b""


def test_preflight_reads_the_examples_sizes_and_permissions_as_microsoft_wrote_them():
    rows = example("Microsoft.Compute/2021-07-01/ListAvailableResourceSkus.json")["body"]["value"]
    skus = skus_by_name(rows, "westus")
    assert {name: sku["capabilities"]["LowPriorityCapable"] for name, sku in skus.items()} == {
        "Standard_A0": "False", "Standard_A1": "True"}
    assert skus_by_name(rows, "westeurope") == {}
    permissions = example("Microsoft.Authorization/2022-04-01/GetPermissions.json")["body"]["value"]
    assert not allows(permissions, "Microsoft.Authorization/roleAssignments/write")
    assert allows([{"actions": ["*"], "notActions": []}], "Microsoft.Authorization/roleAssignments/write")
    assert not allows([{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}],
                      "Microsoft.Authorization/roleAssignments/write")
