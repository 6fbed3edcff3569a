#!/usr/bin/env python3
"""The operator's and developer's CLI: `python3 tasks.py TASK` (or `invoke TASK` in the venv).

Run with any Python 3.11+, it first bootstraps what it needs: a `.venv` with the dev
requirements, and Azurite from npm in `.tools/`. Then it runs TASK. `--help` lists tasks.
"""
from __future__ import annotations

import ast
import hashlib
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_PY = VENV / "bin" / "python"
TOOLS = ROOT / ".tools"
# The operator's tasks, added to this file's own (they import the Azure SDKs, so only inside .venv).
OPS_TASK_MODULES = ("ops.tasks", "ops.tasks_agents", "ops.tasks_cluster")
LISTING_ARGS = {"--list", "-l", "--help", "-h"}
NOTHING_COLLECTED = 5  # pytest's exit code when no test matched


def _say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def _requirements_stamp() -> tuple[Path, str]:
    """Where the venv records the requirements it was made from, and their digest today."""
    reqs = b"".join((ROOT / f).read_bytes() for f in ("requirements.txt", "requirements-dev.txt"))
    return VENV / ".requirements.sha256", hashlib.sha256(reqs).hexdigest()


def _venv_ready() -> bool:
    if not VENV_PY.exists():
        return False
    stamp, digest = _requirements_stamp()
    return stamp.exists() and stamp.read_text() == digest


def task_listing() -> list[tuple[str, str]]:
    """(name, first line of its docstring) of every task, read from the source with `ast`: what
    `--list` shows on a fresh clone, before the first bootstrap has installed invoke."""
    found = []
    for path in [Path(__file__)] + [ROOT / (m.replace(".", "/") + ".py") for m in OPS_TASK_MODULES]:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any(
                    (d.func if isinstance(d, ast.Call) else d).id == "task" for d in node.decorator_list
                    if isinstance(d.func if isinstance(d, ast.Call) else d, ast.Name)):
                doc = (ast.get_docstring(node) or "").strip().splitlines()
                found.append((node.name.replace("_", "-"), doc[0] if doc else ""))
    return sorted(found)


def _print_listing() -> None:
    width = max(len(name) for name, _ in task_listing())
    print("Usage: python3 tasks.py TASK [--help]   (the first task run sets up .venv and Azurite)\n\nTasks:")
    for name, doc in task_listing():
        print(f"  {name.ljust(width)}   {doc}")


def _bootstrap() -> None:
    """Create .venv and install the dev requirements when they changed; install Azurite."""
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed")
    if not VENV_PY.exists():
        _say(f"creating virtual environment in {VENV}")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    stamp, digest = _requirements_stamp()
    if not stamp.exists() or stamp.read_text() != digest:
        _say("installing Python packages from requirements-dev.txt (first run takes a minute)")
        subprocess.run([str(VENV_PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(ROOT / "requirements-dev.txt")], check=True)
        stamp.write_text(digest)
    sys.path.insert(0, str(ROOT))
    from localenv.azurite import AZURITE_VERSION

    if not (TOOLS / "node_modules" / ".bin" / "azurite").exists():
        _install_azurite(AZURITE_VERSION)


def _install_azurite(version: str) -> None:
    """npm install in .tools/ as the working directory, never with --prefix: --prefix moves npm's
    global config to .tools/etc/npmrc, so a proxy, CA or mirror in the machine's npmrc would be lost."""
    _say(f"installing Azurite {version} from npm into {TOOLS} (your npm configuration applies)")
    TOOLS.mkdir(exist_ok=True)
    manifest = TOOLS / "package.json"
    if not manifest.exists():
        manifest.write_text('{"name": "nodepool-tools", "private": true}\n')
    try:
        done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                               f"azurite@{version}"], cwd=TOOLS, capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("npm is not installed: install Node.js 18+ with npm, then run this again")
    if done.returncode != 0:
        errors = [ln for ln in done.stderr.splitlines() if "ERR" in ln] or done.stderr.splitlines()[-1:]
        sys.exit(f"npm could not install azurite@{version}: {' '.join(errors[:3]) or 'exit ' + str(done.returncode)}")


if __name__ == "__main__" and Path(sys.prefix).resolve() != VENV.resolve():
    if set(sys.argv[1:]) <= LISTING_ARGS and not _venv_ready():  # listing tasks needs no venv: say them now
        _print_listing()
        sys.exit(0)
    _bootstrap()
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *sys.argv[1:]])

# From here on we run inside .venv.
from invoke import Collection, Program, Task, task  # noqa: E402

sys.path.insert(0, str(ROOT))


@task(help={})
def setup(c):
    """Bootstrap only: .venv with the dev requirements and Azurite in .tools/ (other tasks do this too)."""
    _bootstrap()
    _say("ready")


@task
def build_control_plane(c):
    """Build kube-apiserver, kube-controller-manager, kube-scheduler and kine into .tools/ (needs Go).

    From the official Go modules pinned in tools/kube-control-plane/; the first build takes tens of
    minutes on 2 cores, later ones reuse Go's build cache; nothing is done when the pins did not change.
    Where Go is missing it says so and exits 0: only the tests/control_plane tier needs these."""
    from localenv.control_plane import binaries

    _bootstrap()
    try:
        reason = binaries.build(_say)
    except binaries.BuildError as err:
        sys.exit(str(err))
    _say(f"control plane not built: {reason}" if reason else f"control plane ready in {binaries.TARGET}")


@task(help={"args": "extra arguments for pytest, e.g. -k healthz or tests/unit",
            "workers": "pytest-xdist worker count (default: auto, one per core)"})
def test(c, args="", workers="auto"):
    """Run the test suite against a fresh in-memory Azurite (started and stopped here).

    The tests marked slow (the demo's whole story, property tests) run after the others, in a run of
    their own, so a quick failure is seen first and the long end-to-end runs do not crowd the rest. The
    real control plane tier (tests/control_plane) is built first when Go is installed and the run
    includes that tier, and skipped, saying why, where Go is missing."""
    from infra.tools import ensure_debian_tools, ensure_tool_venv
    from localenv.azurite import Azurite
    from localenv.control_plane import binaries

    _bootstrap()
    ensure_debian_tools(["cloud-init", "shellcheck"], say=_say)  # the cloud-init tests validate with them
    ensure_tool_venv(TOOLS / "checkov", ROOT / "requirements-checkov.txt", say=_say)  # the Bicep policy tests
    if not args.strip() or "control_plane" in args:
        reason = binaries.build(_say)
        if reason:
            _say(f"tests/control_plane will be skipped: {reason}")
    _say("starting Azurite on free ports")
    with Azurite(accounts=64) as azurite:
        env = {**os.environ, "NODEPOOL_TEST_AZURITE_PORTS": ",".join(
            str(azurite.ports[k]) for k in ("blob", "queue", "table"))}
        _say(f"Azurite listening on {azurite.ports}; running pytest")
        own = shlex.split(args)
        phases = [own] if "-m" in own else [[*own, "-m", "not slow"], [*own, "-m", "slow"]]
        codes = []
        for phase in phases:
            codes.append(subprocess.run([str(VENV_PY), "-m", "pytest", "-n", str(workers), *phase],
                                        cwd=ROOT, env=env).returncode)
            if codes[-1] not in (0, NOTHING_COLLECTED):
                break
    # pytest exits 5 when nothing was collected: a failure for us, unless another phase ran tests.
    sys.exit(next((c for c in codes if c not in (0, NOTHING_COLLECTED)), 0 if 0 in codes else NOTHING_COLLECTED))


def _benchmarks() -> list[str]:
    return sorted(p.stem for p in (ROOT / "tests" / "bench").glob("[a-z]*.py") if p.stem != "common")


@task(help={"name": "which benchmark: " + ", ".join(_benchmarks()),
            "json": "print only the figures as one JSON line (last line of output)",
            "args": 'the benchmark\'s own arguments, e.g. "--notice 8 --runs 20" (or just put them after NAME)'})
def bench(c, name, json=False, args=""):
    """Run one benchmark against the local stack; its figures are the last line, as JSON."""
    if name in ("-h", "--help"):  # `bench --help`: invoke hands the flag to the positional NAME
        print("usage: python3 tasks.py bench NAME [BENCH ARGS] [--json]\nbenchmarks: " + ", ".join(_benchmarks()))
        return
    if name not in _benchmarks():
        sys.exit(f"unknown benchmark {name!r}; see: python3 tasks.py bench --help")
    _bootstrap()
    cmd = [str(VENV_PY), "-m", f"tests.bench.{name}", *shlex.split(args)] + (["--json"] if json else [])
    sys.exit(subprocess.run(cmd, cwd=ROOT).returncode)


def _bench_argv(argv: list[str]) -> list[str]:
    """`bench NAME --notice 8 --json` as benchcheck.py runs it: what follows NAME, but --json and
    --args, is the benchmark's own, handed on through --args (invoke would refuse the flags)."""
    if len(argv) < 3 or argv[1] != "bench" or argv[2].startswith("-"):
        return argv
    head, rest, own = argv[:3], argv[3:], []
    i = 0
    while i < len(rest):
        if rest[i] in ("--json", "-j"):
            head.append("--json")
        elif rest[i] == "--args" and i + 1 < len(rest):
            own.extend(shlex.split(rest[i + 1]))
            i += 1
        else:
            own.append(rest[i])
        i += 1
    return head + (["--args", shlex.join(own)] if own else [])


@task(help={"file": "KEY=VALUE lines, one cloud-init parameter each (default cluster.env); the environment's "
                    "values of the same names win",
            "out": "where the rendered cloud-init goes (default .run/cloud-init)",
            "arm_out": "where the ARM parameter files go (default .run/arm)"})
def params(c, file="cluster.env", out=".run/cloud-init", arm_out=".run/arm"):
    """Render the cloud-init of master and agents and the ARM parameter files of the deployments.

    Every ${VAR} is filled and checked; the ARM parameter files are those of deploy-storage and
    deploy-compute. A bad parameter is an error naming it (never its value)."""
    from infra.cloud_init import VARIABLES
    from ops import params as P
    from ops.config import Config, read_dotenv
    from ops.errors import OpsError
    from ops.tasks import failures

    _bootstrap()
    with failures("params"):
        if not (ROOT / file).is_file():
            hint = " (copy cluster.env.example to start one)" if file == "cluster.env" else ""
            raise OpsError(f"{file}: no such file{hint}")
        given = read_dotenv(ROOT / file)
        given.update({k: v for k, v in os.environ.items() if k in VARIABLES and not VARIABLES[k].derived})
        cfg = Config.load()
        explicit = set(read_dotenv(ROOT / ".env")) | {k for k in os.environ if k in cfg.values}
        rendered = P.render(cfg, given, explicit)  # both roles and both files before anything is written
        files = P.arm_parameters(cfg, rendered, P.public_key(cfg))
        target = ROOT / out
        target.mkdir(parents=True, exist_ok=True)
        for role, text in rendered.items():
            (target / f"{role}.yml").write_text(text)
            _say(f"{role}: {len(text.encode())} bytes -> {target / (role + '.yml')}")
        P.write(ROOT / arm_out, files, say=_say)


@task(help={"out": "where the bundle goes (default: nodepool/adapters/attestation-intermediates.pem, "
                   "which publish ships)"})
def intermediates(c, out=""):
    """Fetch Microsoft's current intermediates for attested documents into the bundle the app ships.

    From http://www.microsoft.com/pkiops/certs/ (HTTP_PROXY honoured), each checked up to a trusted root.
    `publish` runs this when the bundle is missing or a week old; the app fetches a missing issuer
    from the signer's AIA URL at run time either way."""
    from ops.errors import OpsError
    from ops.intermediates import BUNDLED, build

    _bootstrap()
    try:
        build(Path(out) if out else BUNDLED, say=_say)
    except OpsError as err:
        sys.exit(f"intermediates: {err}")


@task(help={"fix": "apply ruff's safe fixes"})
def lint(c, fix=False):
    """ruff over the whole project, mypy over the product and the node helper, then `audit`.

    The layer rules (what may import what) are a test: tests/unit/test_layers.py."""
    _bootstrap()
    for step in ([str(VENV_PY), "-m", "ruff", "check", *(["--fix"] if fix else []), "."],
                 [str(VENV_PY), "-m", "mypy"]):
        _say(" ".join(step[1:]))
        if subprocess.run(step, cwd=ROOT).returncode:
            sys.exit(f"lint: {step[2]} found problems")
    audit(c)


@task
def audit(c):
    """bandit over the shipped code; pip-audit over requirements.lock.txt (a warning, not a pass, offline)."""
    from infra.supply_chain import main

    _bootstrap()
    if main(ROOT, str(VENV_PY), _say):
        sys.exit(1)


@task
def lock(c):
    """Regenerate requirements.lock.txt (pins + sha256 of every distribution) from requirements.txt."""
    from infra.supply_chain import lock_command

    _bootstrap()
    subprocess.run(lock_command(str(VENV_PY)), cwd=ROOT, check=True)


@task(help={"port": "HTTP port of the dev host (default 7071, like func start)",
            "agents": "agent VMs in the simulated scale set (default 3)",
            "real_kube": "a real kube-apiserver, controller-manager and scheduler instead of the Kubernetes "
                         "stand-in, the simulator playing the kubelets (built first; needs Go)"})
def serve(c, port=7071, agents=3, real_kube=False):
    """Azurite + the simulator + the app in the dev host, master registered: the whole API, by hand.

    Keys are written to .run/function-key and .run/master-key (never printed), the simulated cluster's
    kubeconfig to .run/kubeconfig. Ctrl-C or SIGTERM stops all.
    """
    import secrets
    import signal

    from localenv.kubeconfig import kubectl_hint
    from localenv.stack import LocalStack

    _bootstrap()
    control_plane, kube = _start_control_plane() if real_kube else (None, None)
    # SIGTERM (a service manager, `kill`) must stop Azurite and the simulator too, like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    keys = {}
    for name in ("function-key", "master-key"):
        keys[name] = secrets.token_urlsafe(24)
        path = ROOT / ".run" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(keys[name])
        path.chmod(0o600)
    key_file = ROOT / ".run" / "function-key"
    url_file = ROOT / ".run" / "api-url"
    host_env = {"DEVHOST_FUNCTION_KEYS": keys["function-key"], "DEVHOST_MASTER_KEY": keys["master-key"]}
    kubeconfig = ROOT / ".run" / "kubeconfig"
    sim_options = {"kube": kube} if kube else {}
    stack = LocalStack(agents=int(agents), port=int(port), storage=ROOT / ".azurite", echo=sys.stdout,
                       host_env=host_env, kubeconfig=kubeconfig, sim_options=sim_options)
    try:
        stack.start()
        _say(f"Azurite at {stack.azurite.ports} (data in .azurite/); simulator: python -m sim prints the same map")
        url_file.write_text(stack.api)  # for `tasks.py status`
        answer = stack.register_master()
        _say(f"master registered: {answer.status_code}; agents: {', '.join(v.computer_name for v in stack.sim.vms)}")
        _say(f"Kubernetes: {kubectl_hint(kubeconfig.relative_to(ROOT))}")
        _say(f"try: curl -H \"x-functions-key: $(cat {key_file.relative_to(ROOT)})\" {stack.api}/nodes")
        while stack.host.returncode is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave Azurite behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        if control_plane:
            control_plane.stop()


def _start_control_plane():
    """Build if needed, start the real control plane, and apply master.yml's manifest for the app's token."""
    import shutil

    from localenv.control_plane import binaries
    from localenv.control_plane.cluster import ControlPlane
    from localenv.control_plane.credential import app_credential
    from sim.real_kube import RealKube

    reason = binaries.build(_say)
    if reason:
        sys.exit(f"serve --real-kube: {reason}")
    _say("starting kine, kube-apiserver, kube-controller-manager and kube-scheduler on loopback")
    folder = ROOT / ".run" / "control-plane"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh cluster: new certificates, an empty datastore
    control_plane = ControlPlane(node_grace_s=50, folder=folder).start()  # 50 s: Kubernetes' own default
    kube = RealKube(control_plane, app_credential(control_plane))
    _say(f"real control plane up at {control_plane.url} (logs in .run/control-plane/); the app's credential is "
         "the ServiceAccount token of cloud-init/master.yml's manifest")
    return control_plane, kube


@task(help={"agents": "spot VMs in the simulated scale set (default 5; at least 4, or 1 with --no-chaos)",
            "pods": "pods of the ReplicaSet seeded as the workload (default 40)",
            "notice": "seconds of notice the first spot eviction gives (default 30, as Azure does); the second "
                      "is a short 5 s one",
            "duration": "seconds the demo runs at least: the pool keeps running, sampled, after the story "
                        "(default 0: the story's own ~60-90 s)",
            "seed": "picks the VMs the trouble happens to (default 1)",
            "no_chaos": "no outage, eviction, kill or reboot: join, workload, autoscale and the pool running",
            "report": "where summary.json and timeline.png go (default .run/demo/report)"})
def demo(c, agents=5, pods=40, notice=30, duration=0, seed=1, no_chaos=False, report=".run/demo/report"):
    """The product's story on this machine, one checked line per step, and a report of what was measured.

    Azurite, the simulator, the real app in the dev host and the real node helper (`python3 -m agent`)
    for every VM: join, a workload, a burst the autoscaler answers, a spot capacity outage (fallback to
    the regular pool and back), a spot eviction, a short-notice (5 s) one, a VM killed and its ghost
    removed by reconcile, a reboot, an idle node scaled down. ~60-90 s after the first run's bootstrap;
    exits non-zero naming the step that failed. Logs in .run/demo/.
    """
    from demo.__main__ import main

    _bootstrap()
    args = ["--agents", str(agents), "--pods", str(pods), "--notice", str(notice), "--duration", str(duration),
            "--seed", str(seed), "--report", str(ROOT / report)]
    sys.exit(main(args + (["--no-chaos"] if no_chaos else [])))


def _with_chapters(doc: str) -> str:
    from demo.chapters import help_text

    return doc.rstrip() + "\n\n" + "\n".join("    " + line for line in help_text().splitlines()) + "\n"


demo.__doc__ = _with_chapters(demo.__doc__)


@task(help={"json": "print the status as one JSON object instead of tables",
            "url": "the app's API base, e.g. https://APP.azurewebsites.net/api (default: NODEPOOL_API_URL, "
                   "else the local stack's .run/api-url)",
            "key": "the app's master key: the operator routes are admin level (default: NODEPOOL_OPERATOR_KEY, "
                   "else .run/master-key); never printed"})
def status(c, json=False, url="", key=""):
    """The pool at a glance: nodes, pending pods, the last decisions, recent audit rows.

    Nodes per pool with state, Ready, pods, last event and drain outcome; pending pods; the last
    reconcile and autoscale decisions with their reasons (GET /api/status); the audit trail
    (GET /api/audit, where the app has it)."""
    import json as json_lib

    from console.render import show
    from console.status import Endpoint, StatusError, fetch

    try:
        answer = fetch(Endpoint.find(url, key))
    except StatusError as err:
        sys.exit(f"status: {err}")
    if json:
        print(json_lib.dumps(answer, sort_keys=True))
    else:
        show(answer)


def _version() -> str:
    """The version in pyproject.toml, and the commit when this is a git checkout."""
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return f"{version} ({head.stdout.strip()})" if head.returncode == 0 else version


namespace = Collection.from_module(sys.modules[__name__])
if Path(sys.prefix).resolve() == VENV.resolve():  # the operator's commands need the venv's Azure SDKs
    import importlib

    for module in map(importlib.import_module, OPS_TASK_MODULES):
        for item in vars(module).values():
            if isinstance(item, Task) and item.body.__module__ == module.__name__:
                namespace.add_task(item)

READ_ONLY = {"status"}  # tasks that only read: they run under --dry too


class Tasks(Program):
    """invoke's Program, with its core --dry honoured for every task: a task that writes, starts or
    acts on something prints what it would do, with the arguments given, and does nothing."""

    def core_args(self):
        args = super().core_args()
        for arg in args:
            if arg.name == "dry":
                arg.help = "Print what each task would do (with its arguments) and do nothing."
        return args

    def execute(self) -> None:
        if not self.config.run.dry:
            return super().execute()
        for parsed in self.tasks:
            if parsed.name in READ_ONLY:
                self.executor_class(self.collection, self.config, self.core).execute(parsed)
                continue
            given = ", ".join(f"--{a.name.replace('_', '-')} {a.value}" for a in parsed.args.values() if a.got_value)
            doc = (self.collection[parsed.name].__doc__ or "").strip().split("\n\n")[0]
            print(f"[tasks] --dry: would run `{parsed.name}{' ' + given if given else ''}`: "
                  f"{' '.join(doc.split())} Nothing was done.")


if __name__ == "__main__":
    Tasks(namespace=namespace, name="tasks", binary="python3 tasks.py", version=_version()).run(
        _bench_argv(sys.argv))
