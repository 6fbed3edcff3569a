"""The whole simulator: ARM, IMDS, the IdP, chaos control and (when present) KubeSim.

`Simulator(agents=3)` starts every server on 127.0.0.1 and free ports; `settings_env()`
is what our app needs to talk to it. The Kubernetes side (sim/kube/) is imported lazily
and hears about VMs through its vm_started/vm_stopped/vm_deleted hooks. `kube=RealKube(...)`
(sim/real_kube.py) puts a real control plane there instead, the simulator playing its kubelets.

`pools=(Pool("regular", "Regular"),)` adds scale sets beside the agents' own (`scale_set`, spot):
the same group, clock, identity and Kubernetes, each its own VMs, capacity and outages
(`sim.pool(name).capacity_left.refuse("SkuNotAvailable")`).
"""
from __future__ import annotations

import inspect
import secrets
import tempfile
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from localenv.waiting import WAIT_S, wait_for
from sim import tls as tls_mod
from sim.arm import Arm
from sim.control import Control
from sim.hooks import FanOut, VmHooks
from sim.idp import Idp
from sim.imds import Imds
from sim.pki import Pki
from sim.vm import Identity, ScheduledEvent, Vm
from sim.world import Config, World, locate

AUDIENCE = "api://nodepool"  # what agents ask IMDS for when they call our API


@dataclass(frozen=True)
class Pool:
    """Another agent scale set; its computer names start with its name."""
    scale_set: str
    priority: str = "Regular"  # Spot | Regular
    agents: int = 0
    vm_size: str = "Standard_D4s_v5"


class Simulator:
    def __init__(self, agents: int = 3, *, boot_seconds: float = 0.2, restart_seconds: float | None = None,
                 delete_seconds: float = 0.0,
                 terminate_notice: float = 0.0, page_size: int = 50, scale_set: str = "agents",
                 prefix: str | None = None, resource_group: str = "k3s-compute", location: str = "westeurope",
                 kube: bool | object = True, kube_options: dict | None = None, hooks: VmHooks | None = None,
                 tls: tls_mod.Tls | None = None, pools: tuple[Pool, ...] = ()):
        self.agents, self._want_kube, self._kube_options, self._hooks = agents, kube, kube_options or {}, hooks
        self.subscription_id, self.tenant_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.arm_token = secrets.token_urlsafe(32)
        self.tls = tls or tls_mod.shared()
        self.agent_identity = Identity.new(self.subscription_id, resource_group, f"{scale_set}-identity")
        self.master_identity = Identity.new(self.subscription_id, resource_group, "master-identity")
        self.world = World(Config(self.subscription_id, resource_group, scale_set, prefix or scale_set, location,
                                  boot_s=boot_seconds, restart_s=restart_seconds, delete_s=delete_seconds,
                                  terminate_notice_s=terminate_notice),
                           self.agent_identity, self.master_identity)
        self.idp = Idp(self.tenant_id, self.tls)
        self.arm = Arm(self.world, lambda t: t == self.arm_token or self.idp.accepts(t), self.tls, page_size)
        self.pools = {p.scale_set: (p, self.arm.add_pool(World(
            Config(self.subscription_id, resource_group, p.scale_set, p.scale_set, location, p.vm_size,
                   boot_s=boot_seconds, restart_s=restart_seconds, delete_s=delete_seconds, priority=p.priority),
            self.agent_identity, self.master_identity, clock=self.world.clock))) for p in pools}
        self.imds = Imds(self.world, self.idp, worlds=self.arm.worlds)
        self.pki = Pki(self.imds.attester.issuers)  # Microsoft's PKI host: the attestation CA at the leaf's AIA URL
        self.control = Control(self.world, self.arm, self.imds)
        self.kube = None
        self._files, self._roots = tempfile.TemporaryDirectory(prefix="sim-"), None
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="sim-clock", daemon=True)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Simulator:
        for server in (self.idp.server, self.arm.server, self.imds.server, self.control.server, self.pki.server):
            server.start()
        self.kube = self._start_kube() if self._want_kube is True else self._want_kube or None
        self.control.kube = self.kube
        self.world.hooks = FanOut(self.kube, self._hooks)
        self.world.start_master()
        self.world.create(self.agents, booted=True)
        for spec, world in self.pools.values():
            world.hooks = self.world.hooks
            world.create(spec.agents, booted=True)
        self._tick_all()
        self._ticker.start()
        return self

    def stop(self) -> None:
        """Stops every server at once (each takes up to a poll interval to notice)."""
        self._stop.set()
        stops = [s.stop for s in (self.control.server, self.imds.server, self.arm.server, self.idp.server,
                                  self.pki.server)]
        threads = [threading.Thread(target=fn) for fn in stops + ([self.kube.stop] if self.kube else [])]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._files.cleanup()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _tick(self) -> None:
        while not self._stop.wait(0.02):
            self._tick_all()

    def _tick_all(self) -> None:
        for world in list(self.arm.worlds.values()):
            world.tick()

    def pool(self, scale_set: str) -> World:
        """The World of one scale set: the agents' own or one of `pools`."""
        return self.arm.worlds[scale_set.lower()]

    def _start_kube(self):
        try:
            from sim.kube import KubeSim
        except ImportError:
            return None
        accepted = inspect.signature(KubeSim).parameters
        offered = {"tls": self.tls, "clock": self.world.clock, **self._kube_options}
        kube = KubeSim(**{k: v for k, v in offered.items() if k in accepted})
        return kube.start() or kube

    # -- where things are ---------------------------------------------------------------------------
    @property
    def arm_url(self) -> str:
        return self.arm.server.url

    @property
    def authority(self) -> str:
        """The IdP base URL: OpenID configuration at {authority}/{tenant}/v2.0/.well-known/..."""
        return self.idp.server.url

    @property
    def imds_url(self) -> str:
        return self.imds.server.url

    @property
    def control_url(self) -> str:
        return self.control.server.url

    @property
    def ca_bundle(self) -> str:
        return self.tls.ca_path

    @property
    def audience(self) -> str:
        return AUDIENCE

    @property
    def agent_principal_id(self) -> str:
        return self.agent_identity.principal_id

    @property
    def master_principal_id(self) -> str:
        return self.master_identity.principal_id

    @property
    def attestation_roots(self) -> str:
        """A PEM file with the root of the CA that signs this simulator's attested documents."""
        if self._roots is None:
            self._roots = self.imds.attester.write_root(str(Path(self._files.name) / "attestation-roots.pem"))
        return self._roots

    def proxy_env(self) -> dict[str, str]:
        """Plain-http requests to anything but this machine go to the simulator's PKI host, as a proxy: the
        app fetches the AIA URLs its certificates name (http://www.microsoft.com/pkiops/...) as in Azure."""
        return {"HTTP_PROXY": self.pki.url, "NO_PROXY": "127.0.0.1,localhost"}

    def imds_for(self, which) -> str:
        """IMDS base URL of one VM of any pool (stands in for http://169.254.169.254): `which` is a Vm,
        an ARM or computer name, or an instance id (of the agents' own scale set)."""
        return self.imds.url_for(locate(self.arm.worlds.values(), which)[1])

    def settings_env(self) -> dict[str, str]:
        env = {
            "AZURE_SUBSCRIPTION_ID": self.subscription_id, "NODEPOOL_RESOURCE_GROUP": self.world.config.resource_group,
            "NODEPOOL_SCALE_SET": self.world.config.scale_set, "NODEPOOL_ARM_ENDPOINT": self.arm_url,
            "NODEPOOL_ARM_STATIC_TOKEN": self.arm_token, "NODEPOOL_CA_BUNDLE": self.ca_bundle,
            "NODEPOOL_TENANT_ID": self.tenant_id, "NODEPOOL_AUTHORITY": self.authority,
            "NODEPOOL_AUDIENCE": self.audience, "NODEPOOL_AGENT_IDENTITY": self.agent_principal_id,
            "NODEPOOL_MASTER_IDENTITY": self.master_principal_id,
            # The simulator's attestation CA is trusted only through this setting; the master is master0.
            "NODEPOOL_ATTESTATION_ROOTS": self.attestation_roots, "NODEPOOL_MASTER_VM_ID": self.world.master.vm_id,
            **self.proxy_env(),
        }
        kube_env = getattr(self.kube, "settings_env", None)
        return {**env, **(kube_env() if callable(kube_env) else {})}

    # -- tokens, VMs and chaos from Python ----------------------------------------------------------
    def token(self, who: str | Identity = "agent", audience: str | None = None, **tweaks) -> str:
        """A token as IMDS would issue it; tweaks: forged, kid, alg, lifetime, now, version, extra."""
        ident = who if isinstance(who, Identity) else {"agent": self.agent_identity,
                                                        "master": self.master_identity}[who]
        return self.idp.mint(ident, audience or self.audience, **tweaks)

    @property
    def vms(self) -> list[Vm]:
        return self.world.listing()

    def vm(self, which) -> Vm:
        return self.world.find(which)

    def preempt(self, which, notice: float = 30.0) -> ScheduledEvent:
        return self.world.preempt(which, notice)

    def reboot(self, which, notice: float = 10.0) -> ScheduledEvent:
        return self.world.reboot(which, notice)

    def terminate(self, which) -> Vm:
        return self.world.terminate(which)

    def withdraw(self, event: ScheduledEvent | str) -> bool:
        """Azure cancels a scheduled event before it started (see sim/platform_events.py)."""
        return any(w.withdraw(event if isinstance(event, str) else event.event_id) for w in self.arm.worlds.values())

    def partition(self, which, on: bool = True) -> Vm:
        return self.world.partition(which, on)

    def arm_fault(self, kind: str, **knobs):
        """See sim/faults.py: throttle, error, slow, short_list, fail_page."""
        return self.arm.faults.add(kind, **knobs)

    def wait_until(self, predicate, timeout: float = WAIT_S) -> None:
        wait_for(predicate, timeout, interval=0.01, what="the simulator's expected state")
