"""`tasks.py params`: the operator's path from a parameter file to customData."""
import shutil
import subprocess
import sys

from localstack.devhost_process import ROOT


def params(tmp_path, text: str) -> subprocess.CompletedProcess:
    (tmp_path / "cluster.env").write_text(text)
    return subprocess.run([sys.executable, "tasks.py", "params", "--file", str(tmp_path / "cluster.env"),
                           "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_the_example_parameters_render_both_roles_completely(tmp_path):
    done = params(tmp_path, (ROOT / "cluster.env.example").read_text())
    assert done.returncode == 0, done.stderr
    for role in ("master", "agent"):
        text = (tmp_path / "out" / f"{role}.yml").read_text()
        assert text.startswith("#cloud-config") and "${" not in text
    shutil.rmtree(tmp_path / "out")


def test_a_missing_and_an_unknown_parameter_are_named_and_nothing_is_written(tmp_path):
    example = (ROOT / "cluster.env.example").read_text().replace("STORAGE_SHARE=srv\n", "")
    done = params(tmp_path, example + "STORAGE_SAHRE=srv\n")
    assert done.returncode != 0
    assert "STORAGE_SHARE" in done.stderr and "unknown variable STORAGE_SAHRE" in done.stderr
    assert not (tmp_path / "out" / "master.yml").exists()
