"""A Bicep lint of our own for the defects that bit us, since no Bicep compiler runs here.

Rules, each over a pycep-parser tree (tests/infra/bicep_support.py), each one line per finding:
- `runtime-constant`: what Bicep needs at the start of a deployment (a for-expression's array, a
  resource's or module's name, an `if` condition) must not depend on runtime values (a resource's
  `.properties`, a module's `.outputs`, `reference()`, `list*()`), followed through variables:
  the compiler's BCP178/BCP120 (DeployTimeConstantValidator in Azure/bicep).
- `flex-settings`: app settings and siteConfig properties Flex Consumption deprecates
  (functions-app-settings.md, "Flex Consumption plan deprecations"), and maximumInstanceCount under 40.
- `spot-size`: a scale set (or a module call building one) that may be Spot on a size Azure never
  offers as Spot (ops/sizes.py).
- `subnet-outbound`: a subnet with neither a NAT gateway nor defaultOutboundAccess true: private by
  default from Network API 2025-07-01 on, so nothing in it reaches the internet.

pycep spells identifiers and string literals alike as plain strings: a string is read as a symbol
when a symbol of that name is declared, else as a literal.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ops.sizes import spot_refusal
from tests.infra.bicep_support import parsed

CONSTANT_ACCESSORS = {"id", "name", "type", "apiVersion"}  # of a resource: known before it exists
RUNTIME_FUNCTIONS = re.compile(r"^(reference|list.*)$", re.IGNORECASE)
FLEX_SETTINGS = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "FUNCTIONS_WORKER_RUNTIME_VERSION",
                 "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
                 "WEBSITE_CONTENTOVERVNET", "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT", "WEBSITE_NODE_DEFAULT_VERSION",
                 "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD", "WEBSITE_TIME_ZONE", "TZ",
                 "WEBSITES_CONTAINER_START_TIME_LIMIT", "WEBSITE_MOUNT_ENABLED"}
FLEX_SITE_CONFIG = {"linuxFxVersion", "alwaysOn", "functionAppScaleLimit", "minimumElasticInstanceCount",
                    "preWarmedInstanceCount", "use32BitWorkerProcess"}
FLEX_MIN_INSTANCES = 40
_INTERPOLATED = re.compile(r"\$\{([^}]*)\}")
_REFERENCE = re.compile(r"([A-Za-z_]\w*)((?:\s*(?:\.\s*\w+|\[[^\]]*\]))*)")


@dataclass(frozen=True)
class Finding:
    rule: str
    file: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.rule}: {self.where}: {self.message}"


class Symbols:
    """The declarations of one file, and how to read one expression against them."""

    def __init__(self, path: Path):
        self.path, self.tree = path, parsed(path)
        self.params = self.tree.get("parameters") or {}
        self.variables = self.tree.get("variables") or {}
        self.resources = self.tree.get("resources") or {}
        self.modules = self.tree.get("modules") or {}

    # -- runtime values -----------------------------------------------------------------------
    def runtime(self, expr, seen: frozenset = frozenset()) -> str:
        """The first runtime value `expr` depends on, spelled for a message ("" when it has none)."""
        if isinstance(expr, str):
            if expr in self.variables and expr not in seen:
                inner = self.runtime(self.variables[expr]["value"], seen | {expr})
                return f"variable {expr} -> {inner}" if inner else ""
            return self._interpolated(expr, seen)
        if isinstance(expr, list):
            return next((found for item in expr if (found := self.runtime(item, seen))), "")
        if not isinstance(expr, dict):
            return ""
        operator, function = expr.get("operator"), expr.get("function")
        if isinstance(operator, dict) and operator.get("type") == "property_accessor":
            chain = self._chain(operator)
            return self._access(chain, seen) or self.runtime(chain[0], seen)
        if isinstance(function, dict) and RUNTIME_FUNCTIONS.match(str(function.get("type", "")).replace("_", "")):
            return f"{function['type']}()"
        return next((found for value in expr.values() if (found := self.runtime(value, seen))), "")

    def _chain(self, operator: dict) -> list:
        """`a.b.c` as [a, 'b', 'c'], with `a[i]` read as `a`."""
        left, right = operator["operands"]["operand_1"], operator["operands"]["operand_2"]
        while isinstance(left, dict) and (left.get("operator") or {}).get("type") == "index_accessor":
            left = left["operator"]["operands"]["operand_1"]
        rest = (self._chain(right["operator"]) if isinstance(right, dict) and
                (right.get("operator") or {}).get("type") == "property_accessor" else [right])
        return [left, *rest]

    def _access(self, chain: list, seen: frozenset) -> str:
        root, first = chain[0], chain[1] if len(chain) > 1 else None
        if not isinstance(root, str) or not isinstance(first, str):
            return ""
        dotted = ".".join(str(part) for part in chain if isinstance(part, str))
        if root in self.resources and first not in CONSTANT_ACCESSORS:
            return f"{dotted} (a property of resource {root}, known only once it exists)"
        if root in self.modules and first == "outputs":
            return f"{dotted} (an output of module {root}, known only once it ran)"
        return ""

    def _interpolated(self, text: str, seen: frozenset) -> str:
        for inner in _INTERPOLATED.findall(text):
            for name, tail in _REFERENCE.findall(inner):
                parts = [name, *re.findall(r"\.\s*(\w+)", tail)]
                found = self._access(parts, seen) or (self.runtime(name, seen) if name in self.variables else "")
                if found:
                    return found
        return ""

    # -- values an expression may take ---------------------------------------------------------
    def values(self, expr, scope: dict | None = None) -> set:
        """Every literal `expr` may evaluate to, as far as literals, parameter defaults, variables,
        conditionals and loop items tell; '?' stands for anything else."""
        scope = scope or {}
        if isinstance(expr, (bool, int, float)):
            return {expr}
        if isinstance(expr, str):
            if expr in self.params:
                default = self.params[expr].get("default")
                return self.values(default, scope) if default is not None else {"?"}
            if expr in self.variables:
                return self.values(self.variables[expr]["value"], scope)
            return {"?"} if "${" in expr else {expr}
        if isinstance(expr, dict):
            operator = expr.get("operator") or {}
            if operator.get("type") == "conditional":
                operands = operator["operands"]
                return self.values(operands["true_value"], scope) | self.values(operands["false_value"], scope)
            if operator.get("type") == "property_accessor":
                chain = self._chain(operator)
                if chain[0] in scope and len(chain) == 2:
                    return set().union(*(self.values(item.get(chain[1]), scope) for item in scope[chain[0]]) or [{"?"}])
        return {"?"}

    def objects(self, expr) -> list[dict]:
        """The object literals an array expression may hold (concat, conditionals, variables)."""
        if isinstance(expr, str) and expr in self.variables:
            return self.objects(self.variables[expr]["value"])
        if isinstance(expr, list):
            return [item for item in expr if isinstance(item, dict)]
        if isinstance(expr, dict):
            function, operator = expr.get("function") or {}, expr.get("operator") or {}
            if function.get("type") == "concat":
                return [o for arg in function["parameters"].values() for o in self.objects(arg)]
            if operator.get("type") == "conditional":  # pycep nests `a == b ? x : y` under the `==`
                operands = operator["operands"]
                return self.objects(operands["true_value"]) + self.objects(operands["false_value"])
            if operator:
                return [o for value in operator.get("operands", {}).values() for o in self.objects(value)]
        return []


def _unwrap(config: dict) -> tuple[dict, list[tuple[str, object]]]:
    """A resource's or module's body under its loops and conditions, and those (kind, expression)."""
    found = []
    while isinstance(config, dict) and "config" in config and ("loop_type" in config or "condition" in config):
        if config.get("loop_type"):
            found.append(("for-expression", config["loop_type"]["detail"]["array_name"]))
        if config.get("condition") is not None:
            found.append(("if condition", config["condition"]))
        config = config["config"]
    return config, found


def _loops(node, where: str):
    """Every for-expression's array inside a body (property loops such as appSettings: [for ...])."""
    if isinstance(node, dict):
        if "loop_type" in node and "config" in node:
            yield where, node["loop_type"]["detail"]["array_name"]
        for key, value in node.items():
            yield from _loops(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _loops(item, f"{where}[{i}]")


def runtime_constant(path: Path) -> list[Finding]:
    s, found = Symbols(path), []
    declared = [("resource", n, r["config"]) for n, r in s.resources.items()]
    declared += [("module", n, m["config"]) for n, m in s.modules.items()]
    for kind, name, config in declared:
        body, guards = _unwrap(config)
        checks = [(f"{kind} {name} {what}", expr) for what, expr in guards]
        checks.append((f"{kind} {name} name", body.get("name")))
        checks += [(f"{kind} {name} {where}", expr) for where, expr in _loops(body, "body")]
        for where, expr in checks:
            if depends := s.runtime(expr):
                found.append(Finding("runtime-constant", path.name, where, f"needs a deploy-time constant but "
                                     f"depends on {depends} (BCP178/BCP120)"))
    for kind, table in (("variable", s.variables), ("output", s.tree.get("outputs") or {})):
        for name, item in table.items():
            for where, expr in _loops(item.get("value"), f"{kind} {name}"):
                if depends := s.runtime(expr):
                    found.append(Finding("runtime-constant", path.name, where, f"a for-expression over {depends}"))
    return found


def _setting_names(s: Symbols, expr, seen: frozenset = frozenset()) -> set[str]:
    if isinstance(expr, str) and expr in s.variables and expr not in seen:
        return _setting_names(s, s.variables[expr]["value"], seen | {expr})
    if isinstance(expr, str) and expr in s.params:
        return _setting_names(s, s.params[expr].get("default"), seen)
    if isinstance(expr, dict) and "function" in expr:
        return {n for arg in (expr["function"].get("parameters") or {}).values() for n in _setting_names(s, arg, seen)}
    if isinstance(expr, dict) and "operator" not in expr:
        return {str(k).strip("'") for k in expr}
    return set()


def flex_settings(path: Path, callers: list[Path] = ()) -> list[Finding]:
    s, found = Symbols(path), []
    text = path.read_text()
    if "FlexConsumption" not in text and "functionAppConfig" not in text:
        return []
    names: set[str] = set()
    settings_params: set[str] = set()
    for name, res in s.resources.items():
        body, _ = _unwrap(res["config"])
        if res["type"] == "Microsoft.Web/sites/config" and body.get("name") == "appsettings":
            names |= _setting_names(s, body.get("properties"))
            settings_params |= {p for p in s.params if re.search(rf'"{re.escape(p)}"', json.dumps(body))}
        if res["type"] != "Microsoft.Web/sites":
            continue
        props = body.get("properties") or {}
        site_config = props.get("siteConfig") or {}
        names |= {item.get("name") for item in site_config.get("appSettings") or [] if isinstance(item, dict)}
        for key in set(site_config) & FLEX_SITE_CONFIG:
            found.append(Finding("flex-settings", path.name, f"resource {name} siteConfig.{key}",
                                 "deprecated on Flex Consumption (functionAppConfig replaces it)"))
        limit = ((props.get("functionAppConfig") or {}).get("scaleAndConcurrency") or {}).get("maximumInstanceCount")
        if problem := _below_flex_minimum(s, limit):
            found.append(Finding("flex-settings", path.name, f"resource {name} maximumInstanceCount", problem))
    for caller in callers:  # what modules calling this file pass into its settings parameters
        c = Symbols(caller)
        for module in c.modules.values():
            body, _ = _unwrap(module["config"])
            if Path(module["detail"]["path"]).name == path.name:
                for param in settings_params:
                    names |= _setting_names(c, (body.get("params") or {}).get(param))
    for bad in sorted(names & FLEX_SETTINGS):
        found.append(Finding("flex-settings", path.name, f"app setting {bad}",
                             "deprecated on Flex Consumption "
                             "(functions-app-settings.md#flex-consumption-plan-deprecations)"))
    return found


def _below_flex_minimum(s: Symbols, limit) -> str:
    if isinstance(limit, int) and limit < FLEX_MIN_INSTANCES:
        return f"{limit} is under Flex's lowest maximum of {FLEX_MIN_INSTANCES}"
    if isinstance(limit, str) and limit in s.params:
        bound = next((d["argument"] for d in s.params[limit].get("decorators", []) if d["type"] == "min_value"), None)
        if bound is None or bound < FLEX_MIN_INSTANCES:
            return (f"parameter {limit} admits values under Flex's lowest maximum of {FLEX_MIN_INSTANCES} "
                    "(@minValue(40))")
    return ""


def spot_size(path: Path) -> list[Finding]:
    s, found = Symbols(path), []
    pools = []  # (where, size expression, priority expression, loop scope)
    for name, res in s.resources.items():
        body, _ = _unwrap(res["config"])
        if res["type"] == "Microsoft.Compute/virtualMachineScaleSets":
            profile = (body.get("properties") or {}).get("virtualMachineProfile") or {}
            pools.append((f"resource {name}", (body.get("sku") or {}).get("name"), profile.get("priority"), {}))
    for name, module in s.modules.items():
        config = module["config"]
        scope = {}
        if isinstance(config, dict) and config.get("loop_type"):
            detail = config["loop_type"]["detail"]
            scope = {detail["item_name"]: s.objects(detail["array_name"])}
        body, _ = _unwrap(config)
        args = body.get("params") or {}
        if "priority" in args and "vmSize" in args:
            pools.append((f"module {name}", args["vmSize"], args["priority"], scope))
    for where, size, priority, scope in pools:
        if "Spot" not in s.values(priority, scope):
            continue
        for value in sorted(v for v in s.values(size, scope) if isinstance(v, str)):
            if refusal := spot_refusal(value):
                found.append(Finding("spot-size", path.name, where, refusal))
    return found


def subnet_outbound(path: Path) -> list[Finding]:
    s, found = Symbols(path), []
    for name, res in s.resources.items():
        body, _ = _unwrap(res["config"])
        if res["type"] == "Microsoft.Network/virtualNetworks":
            subnets = [(f"resource {name} subnet {sub.get('name')}", sub.get("properties") or {})
                       for sub in (body.get("properties") or {}).get("subnets") or [] if isinstance(sub, dict)]
        elif res["type"] == "Microsoft.Network/virtualNetworks/subnets":
            subnets = [(f"resource {name}", body.get("properties") or {})]
        else:
            continue
        for where, props in subnets:
            if not props.get("natGateway") and props.get("defaultOutboundAccess") is not True:
                found.append(Finding("subnet-outbound", path.name, where, "no explicit outbound: give it a NAT "
                                     "gateway (subnets are private by default from Network API 2025-07-01 on)"))
    return found


def lint(paths: list[Path]) -> list[Finding]:
    found = []
    for path in paths:
        found += runtime_constant(path) + flex_settings(path, [p for p in paths if p != path])
        found += spot_size(path) + subnet_outbound(path)
    return found
