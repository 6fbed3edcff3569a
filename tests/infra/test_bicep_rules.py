"""What the issue asks of the templates, read from the parsed Bicep (pycep-parser)."""
import re

from nodepool.settings import Settings
from ops import params as P
from tests.infra.bicep_support import BICEP, FILES, body, parsed

# Never set in Azure (attestation: the platform's public roots are trusted, the simulator's CA only locally).
LOCAL_ONLY = {"AzureWebJobsStorage", "NODEPOOL_ARM_STATIC_TOKEN", "NODEPOOL_CA_BUNDLE", "NODEPOOL_ATTESTATION_ROOTS",
              "NODEPOOL_ATTESTATION_INTERMEDIATES"}


def resource(file: str, name: str) -> dict:
    return body(parsed(BICEP / file)["resources"][name])


def test_every_parameter_has_a_description_and_custom_data_is_secure():
    for path in FILES:
        for name, param in (parsed(path).get("parameters") or {}).items():
            kinds = {d["type"] for d in param.get("decorators", [])}
            assert "description" in kinds, f"{path.name}: {name}"
            if "customdata" in name.lower():
                assert "secure" in kinds, f"{path.name}: {name}"


def test_spot_pools_evict_with_delete_at_any_price_and_nothing_repairs_or_probes_agents():
    pool = resource("modules/scaleset.bicep", "pool")["properties"]
    profile = pool["virtualMachineProfile"]
    assert profile["evictionPolicy"]["operator"]["operands"]["true_value"] == "Delete"
    assert profile["billingProfile"]["operator"]["operands"]["true_value"]["maxPrice"]["operator"] == {
        "type": "minus", "operands": {"integer_value": 1}}
    assert (pool["orchestrationMode"], pool["upgradePolicy"]["mode"], pool["overprovision"]) == (
        "Uniform", "Manual", False)
    assert pool["scaleInPolicy"]["rules"] and "automaticRepairsPolicy" not in pool
    assert "healthProbe" not in profile["networkProfile"]
    text = (BICEP / "modules" / "scaleset.bicep").read_text()
    assert "ApplicationHealth" not in text and "healthProbe" not in text


def test_the_function_app_runs_on_flex_consumption_with_identity_based_deployment_storage():
    plan = resource("modules/functionapp.bicep", "plan")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    config = resource("modules/functionapp.bicep", "app")["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["type"] == "blobContainer"
    assert config["deployment"]["storage"]["authentication"]["type"] == "UserAssignedIdentity"
    assert set(config["scaleAndConcurrency"]) == {"instanceMemoryMB", "maximumInstanceCount"}
    storage = resource("modules/functionapp.bicep", "storage")["properties"]
    assert storage["allowSharedKeyAccess"] is False
    insights = resource("modules/functionapp.bicep", "insights")["properties"]
    assert insights["DisableLocalAuth"] is True


def test_the_app_subnet_is_delegated_to_container_app_environments():
    text = (BICEP / "modules" / "network.bicep").read_text()
    assert "serviceName: 'Microsoft.App/environments'" in text


def variable(file: str, name: str) -> dict:
    return parsed(BICEP / file)["variables"][name]["value"]


def as_setting(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def test_every_setting_the_app_reads_is_set_and_the_thread_pool_is_32():
    tunables, wiring = variable("compute.bicep", "tunables"), variable("compute.bicep", "wiring")
    host = variable("modules/functionapp.bicep", "hostSettings")
    read = {f.metadata["env"]: f.default for f in Settings.__dataclass_fields__.values()}
    assert set(read) - LOCAL_ONLY - set(tunables) - set(wiring) - set(host) == set()
    for name, value in tunables.items():  # the code's defaults, spelled as app settings
        assert value == as_setting(read[name]), name
    assert host["PYTHON_THREADPOOL_THREAD_COUNT"] == "32"
    assert host["AzureWebJobsStorage__credential"] == "managedidentity"
    identity_based = {"AzureWebJobsStorage__clientId", "AzureWebJobsStorage__blobServiceUri",
                      "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri",
                      "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"}
    assert identity_based <= set(host)


def test_role_assignments_are_guid_named_and_use_only_the_roles_we_chose():
    allowed = {"9980e02c-c2be-4d73-94e8-173b1dc7cf3c",  # Virtual Machine Contributor (scale sets only)
               "c12c1c16-33a1-487b-954d-41c89c60f349",  # Reader and Data Access (listKeys on /srv)
               "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
               "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",  # blob owner, queue and table contributor
               "3913510d-42f4-4e42-8a64-420c390055eb",  # Monitoring Metrics Publisher
               "4633458b-17de-408a-b874-0445c86b69e6"}  # Key Vault Secrets User (the agents' function key)
    count = 0
    for path in FILES:
        text = path.read_text()
        for block in re.findall(r"resource \w+ 'Microsoft\.Authorization/roleAssignments@[^']+' = .*?\n}", text, re.S):
            count += 1
            assert "name: guid(" in block and "scope: " in block, path.name
        used = set(re.findall(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text))
        if "roleDefinitions" in text:
            assert used <= allowed, (path.name, used - allowed)
    assert count == 5  # storage data roles (a loop), metrics publisher, scale set, /srv listKeys and secrets (loops)
    scaleset = (BICEP / "modules" / "scaleset.bicep").read_text()
    assert "scope: pool" in scaleset and "9980e02c-c2be-4d73-94e8-173b1dc7cf3c" in scaleset


def test_our_autoscaler_or_the_seeds_cpu_rule_never_both():
    compute = (BICEP / "compute.bicep").read_text()
    assert "module cpuAutoscale 'modules/cpu-autoscale.bicep' = if (autoscaler == 'cpu')" in compute
    assert "'AzureWebJobs.${autoscaleFunctionName}.Disabled': autoscaler == 'cpu' ? 'true' : 'false'" in compute
    rules = resource("modules/cpu-autoscale.bicep", "cpu")["properties"]["profiles"][0]["rules"]
    assert [r["scaleAction"]["direction"] for r in rules] == ["Increase", "Decrease"]
    trigger = parsed(BICEP / "modules" / "cpu-autoscale.bicep")["variables"]["trigger"]["value"]
    assert (trigger["metricName"], trigger["timeGrain"], trigger["timeWindow"]) == ("Percentage CPU", "PT1M", "PT5M")


def test_custom_data_placeholders_are_the_ones_params_writes():
    compute = (BICEP / "compute.bicep").read_text()
    for value in (P.MASTER_CLIENT_ID, P.AGENT_CLIENT_ID, P.SUBSCRIPTION):
        assert f"'{value}'" in compute


def test_no_template_takes_or_lists_a_storage_key():
    for path in FILES:
        text = path.read_text()
        assert "listKeys(" not in text and "accountKey" not in text.lower().replace("accountkeyoperator", ""), path


def test_spot_pools_get_no_terminate_notification_and_regular_pools_do():
    profile = resource("modules/scaleset.bicep", "pool")["properties"]["virtualMachineProfile"]
    operands = profile["scheduledEventsProfile"]["operator"]["operands"]
    assert operands["condition"] == "spot" and operands["true_value"] is None
    assert operands["false_value"]["terminateNotificationProfile"]["enable"] is True


def test_app_settings_are_the_quickstarts_config_child_named_appsettings():
    settings = parsed(BICEP / "modules" / "functionapp.bicep")["resources"]["appSettings"]
    assert (settings["type"], body(settings)["name"], body(settings)["parent"]) == (
        "Microsoft.Web/sites/config", "appsettings", "app")
    union = body(settings)["properties"]["function"]
    assert union["type"] == "union" and set(union["parameters"].values()) == {"settings", "hostSettings"}
    assert "appSettings" not in resource("modules/functionapp.bicep", "app")["properties"]["siteConfig"]


def test_both_subnets_leave_through_the_nat_gateway():
    vnet = resource("modules/network.bicep", "vnet")["properties"]
    for subnet in vnet["subnets"]:
        assert subnet["properties"]["natGateway"]["id"]["operator"]["operands"]["operand_1"] == "nat", subnet["name"]
    assert resource("modules/network.bicep", "nat")["sku"] == {"name": "Standard"}


def test_the_graph_extension_is_its_ga_release():
    import json

    config = json.loads((BICEP / "bicepconfig.json").read_text())
    assert config["extensions"]["microsoftGraphV1"] == "br:mcr.microsoft.com/bicep/extensions/microsoftgraph/v1.0:1.0.0"
