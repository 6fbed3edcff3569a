"""HTTP route templates as the Functions host (ASP.NET routing) reads them: literal segments
(case-insensitive), `{name}`, `{name?}`, `{name=default}`, `{*rest}` and constraints such as
`{id:int}` or `{name:alpha:maxlength(8)}`. The most specific template wins, as in ASP.NET.

A known route asked with a method it does not allow answers 404, like the real host does
(Azure/azure-functions-host#10098), so clients see locally what they will see in Azure.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import unquote

_PARAM = re.compile(r"\{([^{}]+)\}")
_CHECKS = {
    "int": lambda v, _: re.fullmatch(r"-?\d+", v) is not None and -2**31 <= int(v) < 2**31,
    "long": lambda v, _: re.fullmatch(r"-?\d+", v) is not None and -2**63 <= int(v) < 2**63,
    "bool": lambda v, _: v.lower() in ("true", "false"),
    "alpha": lambda v, _: re.fullmatch(r"[A-Za-z]+", v) is not None,
    "guid": lambda v, _: _parses(uuid.UUID, v),
    "double": lambda v, _: _parses(float, v), "float": lambda v, _: _parses(float, v),
    "decimal": lambda v, _: _parses(float, v),
    "minlength": lambda v, a: len(v) >= int(a[0]), "maxlength": lambda v, a: len(v) <= int(a[0]),
    "length": lambda v, a: len(v) == int(a[0]) if len(a) == 1 else int(a[0]) <= len(v) <= int(a[1]),
    "min": lambda v, a: _parses(int, v) and int(v) >= int(a[0]),
    "max": lambda v, a: _parses(int, v) and int(v) <= int(a[0]),
    "range": lambda v, a: _parses(int, v) and int(a[0]) <= int(v) <= int(a[1]),
}


class RouteError(ValueError):
    pass


def _parses(kind, value: str) -> bool:
    try:
        kind(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Route:
    template: str
    methods: frozenset[str] | None  # None: every method
    target: object
    regex: re.Pattern
    constraints: tuple[tuple[str, str, tuple[str, ...]], ...]  # (param, check, args)
    defaults: tuple[tuple[str, str], ...]
    precedence: tuple[int, ...]

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.methods is not None and method not in self.methods:
            return None
        found = self.regex.fullmatch(path)
        if not found:
            return None
        params = {**dict(self.defaults), **{k: v for k, v in found.groupdict().items() if v not in (None, "")}}
        for name, check, args in self.constraints:
            if name in params and not _CHECKS[check](params[name], args):
                return None
        return params


def compile_route(prefix: str, template: str, methods, target) -> Route:
    """A Route for `/{prefix}/{template}`; raises RouteError on a template the host would refuse."""
    segments = [s for s in f"{prefix.strip('/')}/{template.strip('/')}".split("/") if s]
    pattern, constraints, defaults, precedence = "", [], [], []
    for index, segment in enumerate(segments):
        whole = _PARAM.fullmatch(segment)
        params = [_parse_param(p.group(1), template) for p in _PARAM.finditer(segment)]
        for name, _, checks, default, _ in params:
            constraints += [(name, check, args) for check, args in checks]
            defaults += [(name, default)] if default is not None else []
        if whole:
            name, optional, checks, default, catch_all = params[0]
            if catch_all and index != len(segments) - 1:
                raise RouteError(f"route '{template}': a catch-all parameter must be the last segment")
            if catch_all:
                pattern += f"(?:/(?P<{name}>.*))?"
            elif optional or default is not None:
                pattern += f"(?:/(?P<{name}>[^/]+))?"
            else:
                pattern += f"/(?P<{name}>[^/]+)"
            precedence.append(5 if catch_all else 3 if checks else 4)
            continue
        if any(optional or default is not None or catch_all for _, optional, _, default, catch_all in params):
            raise RouteError(f"route '{template}': optional and catch-all parameters must be a whole segment")
        pieces = _PARAM.split(segment)  # literal, name, literal, name, ... (names replaced below)
        pattern += "/" + "".join(re.escape(text) if i % 2 == 0 else f"(?P<{params[i // 2][0]}>[^/]+)"
                                 for i, text in enumerate(pieces))
        precedence.append(2 if params else 1)
    try:
        regex = re.compile(pattern + "/?", re.IGNORECASE)
    except re.error as err:
        raise RouteError(f"route '{template}': {err}") from None
    allowed = frozenset(str(m).upper() for m in methods) if methods else None
    return Route(template, allowed, target, regex, tuple(constraints), tuple(defaults), tuple(precedence))


def _parse_param(spec: str, template: str):
    """'{name:int?}' -> (name, optional, [(check, args)], default, catch_all)."""
    catch_all = spec.startswith("*")
    spec, _, default = spec.lstrip("*").partition("=")
    optional = spec.endswith("?")
    name, *raw_checks = spec.rstrip("?").split(":")
    checks = []
    for raw in raw_checks:
        found = re.fullmatch(r"(\w+)(?:\((.*)\))?", raw)
        if not found or found.group(1).lower() not in _CHECKS:
            raise RouteError(f"route '{template}': unsupported constraint '{raw}' on '{name}'")
        check = found.group(1).lower()
        args = tuple(a.strip() for a in found.group(2).split(",")) if found.group(2) else ()
        try:
            _CHECKS[check]("0", args)  # bad arguments fail here, not on a request
        except (ValueError, IndexError):
            raise RouteError(f"route '{template}': bad arguments in constraint '{raw}'") from None
        checks.append((check, args))
    return _name(name, template), optional, checks, (default or None), catch_all


def _name(name: str, template: str) -> str:
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        raise RouteError(f"route '{template}': invalid parameter name '{name}'")
    return name


def request_path(raw_path: str) -> str:
    """Percent-decode each segment (an encoded '/' stays inside its segment), as ASP.NET routes."""
    return "/".join(unquote(part).replace("/", "%2F") for part in raw_path.split("/"))


class RouteTable:
    def __init__(self, routes: list[Route]):
        self._routes = sorted(routes, key=lambda r: r.precedence)

    def match(self, method: str, path: str):
        """(target, route params) of the most specific route for method + path, or None."""
        decoded = request_path(path)
        for route in self._routes:
            params = route.match(method, decoded)
            if params is not None:
                return route.target, params
        return None
