"""A stand-in for `bicep build FILE --outfile OUT`, for the tests of the tasks around it (no Bicep
compiler installs here). It checks nothing the compiler checks (bicep_lint.py and the model walk do
what we can of that): from the parsed Bicep it writes an ARM template skeleton with the file's
parameters (type; a default when it has one), its resources and modules (type, name) and its
outputs, expressions kept as their `[...]` text, which is what the simulated ARM needs to check
parameter files and return outputs. Each call is appended to $STAND_IN_BICEP_LOG when set; a file
named in $STAND_IN_BICEP_FAIL does not compile, as compute.bicep did not.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ARM_TYPES = {"string": "string", "int": "int", "bool": "bool", "array": "array", "object": "object"}


def _value(value):
    return value if isinstance(value, (str, int, bool, list)) and not isinstance(value, dict) else "[expression]"


def skeleton(path: Path) -> dict:
    from pycep import BicepParser

    tree = BicepParser().parse(text=path.read_text())
    params = {}
    for name, spec in (tree.get("parameters") or {}).items():
        secure = any(d["type"] == "secure" for d in spec.get("decorators", []))
        params[name] = {"type": ("secure" if secure else "") + ARM_TYPES.get(spec.get("type"), "object")}
        if spec.get("default") is not None:
            params[name]["defaultValue"] = _value(spec["default"])
    resources = [{"type": r["type"], "apiVersion": r.get("api_version"), "name": f"{name}"}
                 for name, r in (tree.get("resources") or {}).items() if not r.get("existing")]
    resources += [{"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": name}
                  for name in (tree.get("modules") or {})]
    outputs = {name: {"type": spec.get("type", "string"), "value": f"[{name}]"}
               for name, spec in (tree.get("outputs") or {}).items()}
    return {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0", "parameters": params, "resources": resources, "outputs": outputs}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "build" or argv[2] != "--outfile":
        print("usage: bicep build FILE --outfile OUT", file=sys.stderr)
        return 2
    source, target = Path(argv[1]), Path(argv[3])
    if os.environ.get("STAND_IN_BICEP_LOG"):
        with open(os.environ["STAND_IN_BICEP_LOG"], "a") as log:
            log.write(source.name + "\n")
    if source.name in os.environ.get("STAND_IN_BICEP_FAIL", "").split(","):
        print(f"{source}(188,23) : Error BCP178: This expression is being used in the for-expression", file=sys.stderr)
        return 1
    target.write_text(json.dumps(skeleton(source), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
