"""ops/bicep.py compiles only the template a task deploys, and knows when a compiled one is stale."""
import json
import os
import time

import pytest

from ops import bicep
from ops.errors import OpsError
from tests.infra.compiler_support import install


@pytest.fixture
def compiler(tmp_path, monkeypatch):
    env = install(tmp_path / "bin")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return tmp_path / "bin" / "builds.log"


def test_deploying_storage_compiles_storage_only_so_a_broken_compute_cannot_stop_it(compiler, tmp_path, monkeypatch):
    monkeypatch.setenv("STAND_IN_BICEP_FAIL", "compute.bicep")
    template = bicep.template("storage", tmp_path / "arm")
    assert "keyVaultName" in template["parameters"]
    assert compiler.read_text().split() == ["storage.bicep"]
    with pytest.raises(OpsError, match="bicep build compute.bicep failed: .*BCP178"):
        bicep.template("compute", tmp_path / "arm")


def test_a_compiled_template_is_rebuilt_when_bicepconfig_changes(compiler, tmp_path):
    out = tmp_path / "arm"
    bicep.template("compute", out)
    bicep.template("compute", out)
    assert compiler.read_text().split() == ["compute.bicep"]  # fresh: not rebuilt
    past = time.time() - 3600
    os.utime(out / "compute.json", (past, past))
    config = bicep.SOURCES / "bicepconfig.json"
    newest_bicep = max(p.stat().st_mtime for p in bicep.SOURCES.rglob("*.bicep"))
    os.utime(out / "compute.json", (newest_bicep + 1,) * 2)
    stat = config.stat()
    try:
        os.utime(config, (stat.st_atime, newest_bicep + 2))
        bicep.template("compute", out)
    finally:
        os.utime(config, (stat.st_atime, stat.st_mtime))
    assert compiler.read_text().split() == ["compute.bicep", "compute.bicep"]
    assert json.loads((out / "compute.json").read_text())["parameters"]


def test_build_compiles_every_template(compiler, tmp_path):
    built = bicep.build(tmp_path / "arm", say=lambda _: None)
    assert set(built) == {"storage", "compute"} and sorted(compiler.read_text().split()) == [
        "compute.bicep", "storage.bicep"]
