"""`tasks.py bench NAME [ARGS] --json`: the benchmark's own arguments pass through (benchcheck.py's form)."""
import subprocess
import sys

from localenv.devhost_process import ROOT


def bench(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tasks.py", "bench", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_arguments_after_the_name_reach_the_benchmark():
    done = bench("preempt", "--notice", "0", "--json")
    assert done.returncode == 2 and "--notice, --nodes, --wave and --runs must be positive" in done.stderr, done.stderr


def test_arguments_in_args_reach_the_benchmark_too():
    done = bench("preempt", "--args", "--help")
    assert done.returncode == 0 and "--notice NOTICE" in done.stdout and "--pods PODS" in done.stdout, done.stderr
