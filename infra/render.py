"""Fill `${VAR}` template variables; anything unknown, missing or malformed is an error naming it.

Only `${NAME}` with NAME an identifier is a variable; `$${` writes a literal `${`. A bare `$name`
is left alone, so shell snippets inside templates use `$name` (never braces) for their own
variables. All problems of one template are reported together, each with its line number.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping

_TOKEN = re.compile(r"\$\$\{|\$\{([^}\n]*)\}?")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TemplateError(ValueError):
    """Every problem found in one template, e.g. 'master.yml:12: missing value for ${K3S_VERSION}'."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def variables(template: str) -> list[str]:
    """The variable names a template uses, in order of first use."""
    names = []
    for match in _TOKEN.finditer(template):
        name = match.group(1)
        if name is not None and _NAME.match(name) and match.group(0).endswith("}") and name not in names:
            names.append(name)
    return names


def render(template: str, values: Mapping[str, str], *, known: Collection[str] | None = None,
           source: str = "template") -> str:
    """Substitute every `${NAME}`; raise TemplateError naming each unknown/missing/malformed one.

    `known` is the catalogue of legal names: with it, a name outside it is 'unknown' (in the
    template or among `values`), a legal name without a value is 'missing'.
    """
    problems, out, last = [], [], 0
    for match in _TOKEN.finditer(template):
        out.append(template[last:match.start()])
        last = match.end()
        if match.group(0) == "$${":
            out.append("${")
            continue
        name, line = match.group(1), template.count("\n", 0, match.start()) + 1
        if not match.group(0).endswith("}") or not _NAME.match(name):
            problems.append("%s:%d: malformed variable %r" % (source, line, match.group(0)))
        elif known is not None and name not in known:
            problems.append("%s:%d: unknown variable ${%s}" % (source, line, name))
        elif name not in values or values[name] is None:
            problems.append("%s:%d: missing value for ${%s}" % (source, line, name))
        else:
            out.append(str(values[name]))
            continue
        out.append(match.group(0))
    out.append(template[last:])
    if known is not None:
        problems += ["%s: unknown variable %s given" % (source, name) for name in values if name not in known]
    if problems:
        raise TemplateError(problems)
    return "".join(out)
