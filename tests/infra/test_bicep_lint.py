"""Our Bicep lint (tests/infra/bicep_lint.py) passes the templates, and each rule refuses its bad fixture:
the checks we have instead of a compiler and a subscription."""
from pathlib import Path

import pytest

from tests.infra.bicep_lint import flex_settings, lint, runtime_constant, spot_size, subnet_outbound
from tests.infra.bicep_support import FILES

BAD = Path(__file__).parent / "fixtures" / "lint"


def test_the_templates_pass_every_rule():
    assert [str(f) for f in lint(FILES)] == []


def test_a_for_expression_over_runtime_values_is_refused():
    found = runtime_constant(BAD / "runtime_loop.bicep")
    assert [(f.where, "storage.properties.primaryEndpoints.blob" in f.message) for f in found] == [
        ("resource app body.properties.siteConfig.appSettings", True)]


def test_a_name_from_a_module_output_is_refused():
    found = runtime_constant(BAD / "runtime_name.bicep")
    assert [f.where for f in found] == ["resource grant name"] and "ids.outputs.principalId" in found[0].message


def test_settings_flex_deprecates_and_a_maximum_under_40_are_refused():
    found = {f.where for f in flex_settings(BAD / "flex_settings.bicep")}
    assert found == {"app setting FUNCTIONS_WORKER_RUNTIME", "app setting WEBSITE_RUN_FROM_PACKAGE",
                     "resource app siteConfig.linuxFxVersion", "resource app maximumInstanceCount"}


@pytest.mark.parametrize("where,size", [("module agents", "Standard_B2s"), ("resource direct", "Standard_B4ms")])
def test_a_spot_pool_on_a_size_that_cannot_be_spot_is_refused(where, size):
    found = {(f.where, f.message.split()[0]) for f in spot_size(BAD / "spot_size.bicep")}
    assert (where, size) in found


def test_a_subnet_without_outbound_is_refused_even_when_it_says_so():
    found = [f.where for f in subnet_outbound(BAD / "private_subnet.bicep")]
    assert found == ["resource vnet subnet nodes", "resource vnet subnet closed"]
