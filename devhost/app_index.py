"""Index `function_app.py` the way the Python worker does: import it, find the one top-level
FunctionApp, call `get_functions()` once, and check every binding before anything runs, so an
app the real host would refuse is refused here at start-up, naming the function.
"""
from __future__ import annotations

import importlib.util
import inspect
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import azure.functions as func
from azure.functions.decorators.utils import StringifyEnumJsonEncoder

SCRIPT_FILE = "function_app.py"
SUPPORTED = {("httptrigger", "in"), ("http", "out"), ("queuetrigger", "in"), ("timertrigger", "in")}
CONTEXT_PARAM = "context"


class AppIndexError(RuntimeError):
    pass


@dataclass(frozen=True)
class IndexedFunction:
    name: str
    func: Callable
    trigger: dict  # the trigger's binding as in function.json (route, queueName, schedule, ...)
    params: tuple[str, ...]
    directory: str

    @property
    def trigger_type(self) -> str:
        return self.trigger["type"]


def index_app(app_dir: Path) -> list[IndexedFunction]:
    app_dir = Path(app_dir).resolve()
    app = _find_app(_import_script(app_dir))
    functions = app.get_functions()  # once: a second call raises a duplicate-name error
    return [_describe(f, app_dir) for f in functions]


def _import_script(app_dir: Path):
    path = app_dir / SCRIPT_FILE
    if not path.exists():
        raise AppIndexError(f"{path} not found")
    if str(app_dir) not in sys.path:
        sys.path.insert(0, str(app_dir))  # the worker puts the script root on sys.path too
    spec = importlib.util.spec_from_file_location("function_app", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["function_app"] = module
    spec.loader.exec_module(module)  # an import error propagates with its traceback, as in the worker
    return module


def _find_app(module) -> func.FunctionRegister:
    apps = {id(v): v for v in vars(module).values() if isinstance(v, func.FunctionRegister)}
    if not apps:
        raise AppIndexError(f"no top-level FunctionApp instance found in {SCRIPT_FILE}")
    if len(apps) > 1:
        raise AppIndexError(f"more than one top-level FunctionApp instance is defined in {SCRIPT_FILE}")
    return next(iter(apps.values()))


def _describe(function, app_dir: Path) -> IndexedFunction:
    name = function.get_function_name()
    bindings = [json.loads(raw) for raw in function.get_raw_bindings()]
    for binding in bindings:
        kind, direction = binding["type"], str(binding.get("direction", "")).lower()
        if (kind.lower(), direction) not in SUPPORTED:
            raise AppIndexError(
                f"function '{name}': binding '{binding.get('name')}' of type '{kind}' (direction {direction}) "
                "is not supported by the dev host (supported: httpTrigger with its http output, "
                "queueTrigger, timerTrigger)")
        if kind.lower() == "http" and binding.get("name") != "$return":
            raise AppIndexError(f"function '{name}': an http output must be the return value ($return)")
    user_function = function.get_user_function()
    params = tuple(inspect.signature(user_function).parameters)
    inputs = {b["name"] for b in bindings if b["name"] != "$return"}
    extra, missing = set(params) - inputs - {CONTEXT_PARAM}, inputs - set(params)
    if extra or missing:
        detail = (f"parameters {sorted(extra)} are declared in Python but not as bindings" if extra
                  else f"bindings {sorted(missing)} have no parameter in Python")
        raise AppIndexError(f"function '{name}': {detail}")
    trigger = json.loads(json.dumps(function.get_trigger().get_dict_repr(), cls=StringifyEnumJsonEncoder))
    return IndexedFunction(name=name, func=user_function, trigger=trigger, params=params, directory=str(app_dir))
