"""checkov's Bicep checks and our own YAML policies (infra/checks) over infra/bicep.

Each suppression is a `// checkov:skip=ID: reason` comment inside the resource. checkov applies those
to its Python checks but not to YAML (graph) checks in Bicep, so this test applies the same comments
to those. A fixture of what the policies must refuse proves they bite.
"""
import json
import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from tests.infra.bicep_support import BICEP, FILES

ROOT = BICEP.parents[1]
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
BAD = Path(__file__).parent / "fixtures" / "bad_bicep"
OURS = {"NODEPOOL_AZ_1", "NODEPOOL_AZ_2", "NODEPOOL_AZ_3", "NODEPOOL_AZ_4"}
SKIP = re.compile(r"checkov:skip=([A-Z0-9_]+):(.*)")

pytestmark = pytest.mark.skipif(not CHECKOV.exists(), reason="checkov is not installed in .tools/checkov "
                                "(python3 tasks.py test installs it from requirements-checkov.txt)")


@lru_cache(maxsize=None)
def scan(directory: Path) -> dict:
    done = subprocess.run([str(CHECKOV), "-d", str(directory), "--framework", "bicep", "--external-checks-dir",
                           str(ROOT / "infra" / "checks"), "-o", "json"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    report = json.loads(done.stdout)
    return report if isinstance(report, dict) else report[0]


def suppressed(check: dict) -> bool:
    lines = "".join(line for _, line in check["code_block"])
    return any(m.group(1) == check["check_id"] and m.group(2).strip() for m in SKIP.finditer(lines))


def test_every_check_passes_or_is_suppressed_with_a_reason():
    failed = [c for c in scan(BICEP)["results"]["failed_checks"] if not suppressed(c)]
    assert [(c["check_id"], c["resource"], c["file_path"]) for c in failed] == []


def test_our_policies_ran_on_the_templates():
    results = scan(BICEP)["results"]
    ran = {c["check_id"] for c in results["passed_checks"] + results["failed_checks"]}
    assert OURS <= ran


def test_only_the_graph_extension_file_is_beyond_checkovs_parser():
    # checkov pins pycep-parser 0.5.1, which predates Bicep's `extension` statement; that file holds
    # only Microsoft.Graph resources, for which checkov has no checks. Our pycep 0.7 parses it.
    errors = scan(BICEP)["results"].get("parsing_errors") or []
    assert [Path(e).name for e in errors] in ([], ["entra-app.bicep"])


def test_our_policies_refuse_what_they_are_for():
    failed = {(c["check_id"], c["resource"]) for c in scan(BAD)["results"]["failed_checks"]}
    assert {("NODEPOOL_AZ_1", "Microsoft.Storage/storageAccounts.keys"),
            ("NODEPOOL_AZ_2", "Microsoft.Compute/virtualMachineScaleSets.bad"),
            ("NODEPOOL_AZ_3", "Microsoft.Compute/virtualMachineScaleSets.bad"),
            ("NODEPOOL_AZ_4", "Microsoft.Authorization/roleAssignments.wide")} <= failed


def test_every_suppression_in_the_templates_gives_a_reason():
    for path in FILES:
        for match in re.finditer(r"checkov:skip=([^\n]*)", path.read_text()):
            assert SKIP.match(match.group(0)) and len(SKIP.match(match.group(0)).group(2).strip()) > 20, path.name
