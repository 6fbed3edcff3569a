"""The wire schema of a resource type, from the azure-mgmt-* packages' generated models (nobody here
wrote them): which property names a body may use and which values an enum admits.

Two generations of generated code: TypeSpec models (`_attr_to_rest_field`, filled in on first
instantiation; field types from type hints) and msrest models (`_attribute_map`, flattened
`properties.x` keys; enum values are not recorded there, so only names are checked).
"""
from __future__ import annotations

import enum
import importlib
import sys
import typing

MODELS = {  # resource type -> (models module, model class, apiVersion the package speaks)
    "Microsoft.Compute/virtualMachineScaleSets": ("azure.mgmt.compute.models", "VirtualMachineScaleSet"),
    "Microsoft.Compute/virtualMachines": ("azure.mgmt.compute.models", "VirtualMachine"),
    "Microsoft.Compute/virtualMachineScaleSets/extensions": ("azure.mgmt.compute.models",
                                                             "VirtualMachineScaleSetExtension"),
    "Microsoft.Network/virtualNetworks": ("azure.mgmt.network.models", "VirtualNetwork"),
    "Microsoft.Network/networkSecurityGroups": ("azure.mgmt.network.models", "NetworkSecurityGroup"),
    "Microsoft.Network/publicIPAddresses": ("azure.mgmt.network.models", "PublicIPAddress"),
    "Microsoft.Network/networkInterfaces": ("azure.mgmt.network.models", "NetworkInterface"),
    "Microsoft.Network/natGateways": ("azure.mgmt.network.models", "NatGateway"),
    "Microsoft.KeyVault/vaults": ("azure.mgmt.keyvault.models", "VaultCreateOrUpdateParameters"),
    "Microsoft.Web/sites/config": ("azure.mgmt.web.models", "StringDictionary"),
    "Microsoft.Storage/storageAccounts": ("azure.mgmt.storage.models", "StorageAccountCreateParameters"),
    "Microsoft.Storage/storageAccounts/fileServices": ("azure.mgmt.storage.models", "FileServiceProperties"),
    "Microsoft.Storage/storageAccounts/fileServices/shares": ("azure.mgmt.storage.models", "FileShare"),
    "Microsoft.Storage/storageAccounts/blobServices": ("azure.mgmt.storage.models", "BlobServiceProperties"),
    "Microsoft.Storage/storageAccounts/blobServices/containers": ("azure.mgmt.storage.models", "BlobContainer"),
    "Microsoft.Web/serverfarms": ("azure.mgmt.web.models", "AppServicePlan"),
    "Microsoft.Web/sites": ("azure.mgmt.web.models", "Site"),
    "Microsoft.OperationalInsights/workspaces": ("azure.mgmt.loganalytics.models", "Workspace"),
    "Microsoft.Insights/autoscalesettings": ("azure.mgmt.monitor.models", "AutoscaleSettingResource"),
    "Microsoft.Insights/components": ("azure.mgmt.applicationinsights.v2020_02_02.models",
                                      "ApplicationInsightsComponent"),
    "Microsoft.ManagedIdentity/userAssignedIdentities": ("azure.mgmt.msi.v2024_11_30.models", "Identity"),
    "Microsoft.Authorization/roleAssignments": ("azure.mgmt.authorization.v2022_04_01.models",
                                                "RoleAssignmentCreateParameters"),
}
BICEP_ONLY = {"parent", "scope", "dependsOn", "name"}  # resource-declaration keys, not body properties


def model(resource_type: str):
    module, name = MODELS[resource_type]
    return getattr(importlib.import_module(module), name)


def _unwrap(hint) -> list:
    """The concrete types inside Optional/Union/List/Dict hints."""
    origin = typing.get_origin(hint)
    if origin is typing.Union:
        return [t for arg in typing.get_args(hint) for t in _unwrap(arg)]
    return [hint]


def fields(cls) -> dict[str, tuple[str, object]]:
    """rest name -> (kind, detail): kind 'model' (detail = class), 'list' (element hint), 'enum', 'value'."""
    if hasattr(cls, "_attribute_map"):
        return _msrest_fields(cls)
    try:
        cls()  # TypeSpec models build _attr_to_rest_field on first instantiation
    except TypeError:
        pass
    module = sys.modules[cls.__module__]
    package = importlib.import_module(cls.__module__.rsplit(".", 1)[0])  # `_models.X` in the hints
    names = {**vars(module), "_models": package, "_enums": package}
    hints = typing.get_type_hints(cls, names)
    out = {}
    for attr, field in cls._attr_to_rest_field.items():
        out[field._rest_name] = _kind(hints.get(attr))
    return out


def _kind(hint) -> tuple[str, object]:
    for t in _unwrap(hint):
        origin = typing.get_origin(t)
        if origin in (list, typing.List):
            return "list", typing.get_args(t)[0]
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return "enum", t
        if isinstance(t, type) and (hasattr(t, "_attr_to_rest_field") or hasattr(t, "__mro__") and
                                    any(b.__name__ == "Model" for b in t.__mro__[1:])):
            return "model", t
    return "value", None


def _msrest_fields(cls) -> dict:
    module = sys.modules[cls.__module__]
    tree: dict = {}
    for spec in cls._attribute_map.values():
        parts = [p.replace("\\.", ".") for p in spec["key"].replace("\\.", "\0").split(".")]
        parts = [p.replace("\0", ".") for p in parts]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, ("tree", {}))[1]
        kind = spec["type"]
        if kind.startswith("[") and kind.endswith("]"):
            inner = getattr(module, kind[1:-1], None)
            node[parts[-1]] = ("list", inner)
        elif hasattr(module, kind) and hasattr(getattr(module, kind), "_attribute_map"):
            node[parts[-1]] = ("model", getattr(module, kind))
        else:
            node[parts[-1]] = ("value", None)
    return tree


def api_version_supported(resource_type: str, version: str) -> bool:
    """Multi-version packages: the vYYYY_MM_DD module the model comes from; single-version ones: a
    version their operations send."""
    module = MODELS[resource_type][0]
    versioned = [p for p in module.split(".") if p.startswith("v20")]
    if versioned:
        return versioned[0] == "v" + version.replace("-", "_")
    package = importlib.import_module(module.rsplit(".", 1)[0])
    source = "".join(p.read_text() for p in _operation_files(package))
    return f'"{version}"' in source


def _operation_files(package):
    from pathlib import Path

    return sorted((Path(package.__file__).parent / "operations").glob("_*.py"))


EXPRESSIONS = {"function", "operator", "property_accessor", "index_accessor", "interpolation"}


def problems(resource_type: str, body: dict, declared: set[str]) -> list[str]:
    """Every property name or enum value of `body` the API's models do not know, as a dotted path."""
    found: list[str] = []
    top = {k: v for k, v in body.items() if k.strip("'") not in BICEP_ONLY}
    _walk(fields(model(resource_type)), top, resource_type, declared, found)
    return found


def _is_expression(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EXPRESSIONS


def _walk(schema: dict, body: dict, path: str, declared: set[str], found: list[str]) -> None:
    for raw_key, value in body.items():
        key = raw_key.strip("'")
        if key not in schema:
            found.append(f"{path}.{key}: unknown property")
            continue
        _check(schema[key], value, f"{path}.{key}", declared, found)


def _check(spec, value, path: str, declared: set[str], found: list[str]) -> None:
    kind, detail = spec
    if _is_expression(value):
        op = value.get("operator") or {}
        if op.get("type") == "conditional":  # check both branches of `cond ? a : b`
            for branch in ("true_value", "false_value"):
                _check(spec, op["operands"][branch], path, declared, found)
        return
    if value is None:
        return
    if kind == "model" and isinstance(value, dict):
        _walk(fields(detail), value, path, declared, found)
    elif kind == "tree" and isinstance(value, dict):
        _walk(detail, value, path, declared, found)
    elif kind == "list" and isinstance(value, list):
        element = _kind(detail) if not isinstance(detail, tuple) else detail
        if element[0] == "value" and isinstance(detail, type) and (hasattr(detail, "_attribute_map") or
                                                                     hasattr(detail, "_attr_to_rest_field")):
            element = ("model", detail)
        for i, item in enumerate(value):
            _check(element, item, f"{path}[{i}]", declared, found)
    elif kind == "enum" and isinstance(value, str) and value not in declared and "${" not in value:
        allowed = {str(e.value).lower() for e in detail}
        if value.lower() not in allowed:
            found.append(f"{path}: {value!r} is not one of {sorted(e.value for e in detail)}")
