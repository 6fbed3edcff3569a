"""The demo's story, step by step: start, register, join, seed a workload, watch; then the autoscaler
(demo/autoscaling.py, demo/outage.py), spot trouble (demo/eviction.py, demo/ghost.py), a reboot
(demo/reboot.py) and a summary. Every step checks what it claims
and raises StepFailed otherwise; `facts` holds what was measured (written as JSON with --facts).
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import requests

from agent.watch import POLL_S
from demo import measure
from demo.autoscaling import APP_SETTINGS as AUTOSCALE_SETTINGS
from demo.report import Recorder
from demo.timeline import Timeline, check, wait_until
from demo.vms import Helper
from localenv.kubeconfig import kubectl_hint
from localenv.stack import LocalStack
from nodepool.settings import Settings
from nodepool.wiring import Services
from sim.cluster import Pool

# The app's own reconcile timer (every minute) is parked: the demo runs its ticks itself (step 5), with
# the timer's wiring, and a minute boundary must not remove the ghost before the story shows it.
APP_SETTINGS = {"NODEPOOL_CLUSTER": "demo", "NODEPOOL_RECONCILE_SCHEDULE": "0 0 0 1 1 *"}
REQUESTS = {"cpu": "100m", "memory": "128Mi"}


# A new VM boots in this long (a minute or two in Azure). Above the join's instance directory's
# 10-s refresh interval: a VM asking sooner than that after the last refresh is not known yet.
BOOT_S = 12.0
RESTART_S = 6.0  # a reboot's restart (no join: the VM and its Node are known); above the 3-s NotReady grace
SHORT_NOTICE = 5.0  # the short-notice chapter's Preempt: less than the 30 s Azure promises


@dataclass
class Options:
    agents: int = 5
    pods: int = 40
    notice: float = 30.0
    grace: float = 3.0  # node-monitor grace period of the simulated k3s (40 s in k3s): NotReady after this
    logs: Path = Path(".run/demo")
    duration: float = 0.0  # keep the pool running (and sampled) until this many seconds since the start
    seed: int = 1  # which VMs the story picks for its trouble
    chaos: bool = True  # False: no eviction, no kill: join, workload, watch, and the pool running


class Story:
    def __init__(self, opts: Options, timeline: Timeline, work: Path, recorder: Recorder | None = None):
        self.opts, self.t, self.work = opts, timeline, work
        self.recorder = recorder or Recorder(timeline.started)
        self.stack: LocalStack | None = None
        self.app: Services | None = None  # the app's own services (same settings, Azurite, simulator)
        self.helpers: dict[str, Helper] = {}
        self.facts: dict = {"ok": False, "agents": opts.agents, "notice_s": opts.notice}
        self.cast: dict[str, Helper] = {}  # role in the story -> the VM's helper, picked with --seed
        self.autoscale_services: Services | None = None  # the autoscale ticks' wiring, kept across ticks
        self.later = timedelta(0)  # how far the autoscaler's clock has moved ahead of the world's (never back)
        self._devhost_log = None

    # -- the whole story ------------------------------------------------------------------------
    def run(self) -> None:
        from demo import autoscaling, eviction, ghost, outage, reboot, spoof

        self.start()
        self.join()
        self.pick_cast()
        self.seed()
        self.watch()
        if self.opts.chaos:
            spoof.spoofed_requests(self)
        autoscaling.burst(self, 3 * (len(self.agents()) + 1) + 6)  # ~2 nodes more than fit
        if self.opts.chaos:
            self.facts["outage"] = self.recorder.chapters["spot capacity outage"] = outage.capacity_outage(self)
            self.facts.update(eviction.spot_eviction(self))
            self.facts["short_notice"] = eviction.spot_eviction(self, self.cast["short"], SHORT_NOTICE,
                                                                "short-notice eviction")
            ghost.killed_vm(self)
            self.facts["reboot"] = self.recorder.chapters["reboot"] = reboot.reboot(self)
        autoscaling.idle_scale_down(self)
        measure.count_joins(self)
        self.keep_running()
        self.facts["ok"], self.facts["total_s"] = True, round(self.t.elapsed, 1)

    def keep_running(self) -> None:
        left = self.opts.duration - self.t.elapsed
        if left > 0.5:
            self.t.say(f"the pool keeps running for {left:.0f} s more (--duration {self.opts.duration:.0f}), sampled "
                       f"every {self.recorder.interval} s for the report")
            time.sleep(left)

    def close(self) -> None:
        for helper in self.helpers.values():
            helper.stop()
        if self.stack:
            self.stack.stop()
        if self._devhost_log:
            self._devhost_log.close()

    @property
    def sim(self):
        return self.stack.sim

    @property
    def kube(self):
        return self.stack.sim.kube

    def agents(self) -> list[Helper]:
        return [h for h in self.helpers.values() if h.vm.instance_id]

    # -- 1. the stack -----------------------------------------------------------------------------
    def start(self) -> None:
        n = self.opts.agents
        self.t.say(f"starting Azurite (in memory), the simulator ({n} spot VMs + master0, an empty Regular scale set) "
                   "and the app in the dev host")
        started = time.monotonic()
        self._devhost_log = open(self.opts.logs / "devhost.log", "w", encoding="utf-8")
        sim = {"kube_options": {"grace_s": self.opts.grace, "terminate_s": 0.5}, "boot_seconds": BOOT_S,
               "restart_seconds": max(RESTART_S, self.opts.grace + 3),  # long enough to turn NotReady
               "pools": (Pool("regular", "Regular", vm_size="Standard_D4s_v5"),)}  # the autoscaler's fallback
        self.stack = LocalStack(agents=n, sim_options=sim, app_settings={**APP_SETTINGS, **AUTOSCALE_SETTINGS},
                                host_env={"DEVHOST_STATE_DIR": str(self.work / "devhost")},
                                echo=self._devhost_log, kubeconfig=self.opts.logs.parent / "kubeconfig")
        self.stack.start()
        self.t.say(f"the simulated cluster for your own kubectl: {kubectl_hint(self.stack.kubeconfig)}")
        run = self.opts.logs.parent  # for `python3 tasks.py status` while the demo runs
        (run / "api-url").write_text(self.stack.api)
        for name, key in (("function-key", self.stack.function_key), ("master-key", self.stack.host.master_key)):
            (run / name).write_text(key)
            (run / name).chmod(0o600)
        self.app = Services(Settings.from_env(self.stack.app_env))
        self.recorder.start(lambda: measure.probe(self))
        self.facts["start_s"] = round(time.monotonic() - started, 2)
        health = requests.get(f"{self.stack.api}/healthz", timeout=10)
        body = health.json()
        check(health.status_code == 200 and body.get("status") == "ok", f"GET /api/healthz: {health.status_code} "
                                                                            f"{health.text[:300]}")
        checks = ", ".join(f"{k} {'ok' if v['ok'] else 'FAILING'}" for k, v in body["checks"].items())
        self.t.say(f"app up at {self.stack.api} in its own process; GET /api/healthz -> 200 {body['status']} "
                   f"({checks})")
        disks = self.work / "disks"
        for vm in [self.sim.vm("master0"), *self.sim.vms]:
            self.helpers[vm.computer_name] = Helper(self.stack, vm, disks, self.opts.logs)

    # -- 2. register and join -----------------------------------------------------------------------
    def join(self) -> None:
        master = self.helpers["master0"]
        register = master.run("register")
        code = register.wait(40)
        check(code == 0, f"`agent register` on master0 exited {code}:\n{register.text()}")
        self.t.say(f"master0 registered the cluster with `agent register`, as its cloud-init does "
                   f"(POST /api/cluster: server {self.kube.url}, CA pinned)")
        started = time.monotonic()
        joins = {h.name: h.run("join", "--join-timeout", "60") for h in self.agents()}
        for name, proc in joins.items():
            code = proc.wait(70)
            check(code == 0, f"`agent join` on {name} exited {code}:\n{proc.text()}")
        wait_until(lambda: all(self.ready(h.name) == "True" for h in self.agents()), 10, "every agent's Node Ready")
        self.facts["joined"], self.facts["join_s"] = len(joins), round(time.monotonic() - started, 2)
        self.recorder.agents = len(self.sim.vms)
        self.recorder.joins = sum(1 for row in self.app.registry.all_nodes() if row.joined_at is not None)
        self.recorder.mark("event", f"{self.recorder.joins} joined")
        self.t.say(f"{len(joins)} agents joined with `agent join` in {self.facts['join_s']:.1f} s "
                   f"(POST /api/join -> k3s config -> k3s started -> Node registered); every Node Ready in Kubernetes")
        rows = self.stack.call("GET", "nodes").json()["nodes"]
        check(sorted(r["name"] for r in rows) == sorted(joins), f"GET /api/nodes lists {[r['name'] for r in rows]}")
        states = Counter(r["state"] for r in rows)
        self.t.more("GET /api/nodes: " + ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
                    + (" (the registry records Ready at reconcile's next tick)" if "joining" in states else ""))

    def ready(self, name: str) -> str:
        node = self.kube.node(name)
        conditions = node["status"]["conditions"] if node else []
        return next((c["status"] for c in conditions if c["type"] == "Ready"), "absent")

    # -- 3. a workload, and the watchers ------------------------------------------------------------------
    def pick_cast(self) -> None:
        """The VMs the story's trouble happens to, picked with --seed (the same seed, the same VMs)."""
        agents = self.agents()
        picked = random.Random(self.opts.seed).sample(agents, min(3, len(agents)))
        self.cast = dict(zip(("victim", "short", "ghost"), picked))

    @property
    def victim(self) -> Helper:
        return self.cast["victim"]

    @property
    def ghost(self) -> Helper:
        return self.cast["ghost"]

    def seed(self) -> None:
        kube = self.kube
        others = [h for h in self.agents() if h is not self.victim and h is not self.cast.get("short")] or \
            [h for h in self.agents() if h is not self.victim]
        kube.add_pods(self.victim.name, 2, owner="StatefulSet/db", requests=REQUESTS)
        kube.add_pods(others[0].name, 1, owner="StatefulSet/db", requests=REQUESTS)
        kube.add_pdb("db", selector={"app": "db"}, max_unavailable=1)
        kube.add_pods(None, self.opts.pods, owner="ReplicaSet/web", requests=REQUESTS)  # the scheduler places them
        wait_until(lambda: self.running("web") == self.opts.pods, 10, f"{self.opts.pods} web pods Running")
        spread = Counter(p["spec"]["nodeName"] for p in self.pods("web"))
        self.t.say(f"workload: ReplicaSet web, {self.opts.pods} pods placed by the scheduler "
                   f"({', '.join(f'{n} {c}' for n, c in sorted(spread.items()))}); StatefulSet db, 3 pods "
                   f"(db-0, db-1 on {self.victim.name}) behind PDB db (maxUnavailable 1)")

    def pods(self, app: str) -> list[dict]:
        return [p for p in self.kube.pods() if (p["metadata"].get("labels") or {}).get("app") == app]

    def running(self, app: str, off: str = "") -> int:
        """Pods of `app` Running (and not terminating), on any node but `off`."""
        return sum(1 for p in self.pods(app) if p["status"]["phase"] == "Running"
                   and not p["metadata"].get("deletionTimestamp") and p["spec"].get("nodeName") != off)

    def watch(self) -> None:
        for helper in self.agents():
            helper.run("watch")
        hits = self.sim.imds.server.hits
        wait_until(lambda: all(hits[f"GET /vms/{h.name}/metadata/scheduledevents"] for h in self.agents()), 20,
                   "every `agent watch` reading IMDS scheduled events")
        self.t.say(f"`agent watch` running on {len(self.agents())} VMs: IMDS scheduled events every {POLL_S:g} s")
