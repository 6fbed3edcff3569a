"""Every literal resource body in infra/bicep, walked against the azure-mgmt-* generated models:
a property or enum value the API does not know is named; apiVersions are ones those packages speak."""
import pytest

from tests.infra.arm_models import MODELS, api_version_supported, problems
from tests.infra.bicep_support import FILES, body, declared_names, parsed, resources

GRAPH = {"Microsoft.Graph/applications", "Microsoft.Graph/servicePrincipals"}  # no azure-mgmt package
DEFINED = [(p, n, r) for p, n, r in resources() if not r.get("existing") and r["type"] not in GRAPH]


def test_every_bicep_file_parses():
    assert len(FILES) >= 10
    for path in FILES:
        assert parsed(path).get("resources") or parsed(path).get("modules"), path


def test_every_resource_type_has_a_schema_to_check_against():
    assert {r["type"] for _, _, r in DEFINED} <= set(MODELS)


@pytest.mark.parametrize("path,name,resource", DEFINED, ids=[f"{p.name}:{n}" for p, n, _ in DEFINED])
def test_resource_body_uses_only_properties_and_values_the_api_knows(path, name, resource):
    assert problems(resource["type"], body(resource), declared_names(parsed(path))) == []


@pytest.mark.parametrize("path,name,resource", DEFINED, ids=[f"{p.name}:{n}" for p, n, _ in DEFINED])
def test_api_version_is_one_the_package_speaks(path, name, resource):
    assert api_version_supported(resource["type"], resource["api_version"]), resource["api_version"]


def test_the_walk_names_misspelled_properties_and_unknown_enum_values():
    found = problems("Microsoft.Compute/virtualMachineScaleSets", {"properties": {
        "virtualMachineProfile": {"evictionPolcy": "Delete", "priority": "Spott"},
        "upgradePolicy": {"mode": "Manual"}}}, set())
    assert [f.split(": ")[0].rsplit(".", 1)[-1] for f in found] == ["evictionPolcy", "priority"]
    found = problems("Microsoft.Web/sites", {"properties": {"functionAppConfig": {
        "runtime": {"name": "pythn"}, "scaleAndConcurrency": {"instanceMemoryMb": 1}}}}, set())
    assert len(found) == 2
