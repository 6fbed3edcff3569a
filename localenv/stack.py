"""The whole product on one machine: Azurite + the simulator + the real app in dev hosts, wired.

The one place that composes them; `tasks.py serve`, the demo, the end-to-end test fixtures
and the benchmarks all start one. Azurite for tables and queues (our own, in memory or data in
a folder, or an `azurite` someone else started, with an `account` in it), the simulator (ARM
scale set, IMDS, Entra ID, Kubernetes) in this process, and function_app.py in `hosts` dev
hosts of their own processes (more with `start_host`, tables through a `CountingProxy` with
`count_tables()`), configured exactly as app settings would configure it for Azure.

    with LocalStack(agents=5) as stack:
        stack.register_master()                        # POST /api/cluster, as master cloud-init does
        stack.join("agents000000")                     # attested, as that VM's agent joins
        stack.call("GET", "nodes").json()              # the function key is sent for you

`app_env` is the app's settings: `Settings.from_env(stack.app_env)` wires the same services in
this process (a reconcile tick, say). Keys are generated unless given; nothing here prints one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TextIO

import requests

from localenv.azurite import DEV_ACCOUNT, Azurite
from localenv.counting_proxy import CountingProxy
from localenv.devhost_process import DevHostProcess
from localenv.kubeconfig import write_kubeconfig
from localenv.node_identity import NodeIdentities
from sim.cluster import Simulator


@dataclass
class LocalStack:
    agents: int = 3
    port: int = 0  # the first dev host's HTTP port (0: a free one)
    storage: Path | None = None  # our Azurite's data folder (None: in memory, gone at stop)
    sim_options: dict = field(default_factory=dict)  # Simulator keyword arguments (kube_options, boot_seconds...)
    app_settings: dict = field(default_factory=dict)  # extra app settings (NODEPOOL_*)
    host_env: dict = field(default_factory=dict)  # the dev hosts' own knobs (DEVHOST_*: keys, state dir)
    host_args: Sequence[str] = ()  # dev host arguments (["--no-timers"])
    hosts: int = 1  # dev hosts started with the stack (0: none; `start_host` adds more)
    echo: TextIO | None = None  # where the first dev host's output goes too
    azurite: Azurite | None = None  # an Azurite already running (not stopped by us); None: our own
    account: str = DEV_ACCOUNT  # the storage account in Azurite the app uses
    kubeconfig: Path | None = None  # written at start for kubectl, when given
    sim: Simulator | None = None
    apps: list[DevHostProcess] = field(default_factory=list)
    node_credentials: dict[str, str] = field(default_factory=dict, repr=False)  # hostname -> its VM's credential

    def start(self) -> LocalStack:
        """Start everything; if one part fails, stop what already started and re-raise."""
        self._own_azurite, self._proxies, self._state = self.azurite is None, [], TemporaryDirectory(prefix="devhost-")
        try:
            if self._own_azurite:
                log = self.storage / "azurite.log" if self.storage else None
                self.azurite = Azurite(location=self.storage, log=log).start()
            self.sim = Simulator(self.agents, **self.sim_options).start()
            if self.kubeconfig and self.sim.kube:
                write_kubeconfig(self.kubeconfig, self.sim.kube)
            for _ in range(self.hosts):
                self.start_host(echo=self.echo if not self.apps else None)
        except BaseException:
            self.stop()
            raise
        return self

    def start_host(self, env: dict | None = None, table_url: str | None = None, args: Sequence[str] | None = None,
                   echo: TextIO | None = None) -> DevHostProcess:
        """One more dev host on this stack's storage (tables through `table_url` if given)."""
        state = {"DEVHOST_STATE_DIR": str(Path(self._state.name) / f"host{len(self.apps)}")}
        settings = {**self.app_env, "AzureWebJobsStorage": self.connection_string(table_url)}
        host = DevHostProcess(env={**state, **settings, **self.host_env, **(env or {})},
                              port=self.port if not self.apps else 0,
                              args=list(self.host_args if args is None else args), echo=echo)
        self.apps.append(host)
        return host.start()

    def count_tables(self) -> CountingProxy:
        """A counting proxy in front of Azurite's table endpoint (stopped with the stack): pass its
        `url` to `start_host(table_url=...)`."""
        proxy = CountingProxy(self.table_url).start()
        self._proxies.append(proxy)
        return proxy

    def stop(self) -> None:
        """Stop the apps, then the simulator, then our Azurite; each even if stopping another failed."""
        try:
            for host in self.apps:
                host.stop()
            for proxy in self._proxies:
                proxy.stop()
        finally:
            try:
                if self.sim:
                    self.sim.stop()
            finally:
                if self.azurite and self._own_azurite:
                    self.azurite.stop()
                self._state.cleanup()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- where things are ---------------------------------------------------------------------
    @property
    def host(self) -> DevHostProcess:
        return self.apps[0]

    @property
    def app_env(self) -> dict[str, str]:
        """The app settings: storage, the simulator's endpoints and identities, then `app_settings`."""
        return {"AzureWebJobsStorage": self.connection_string(), **self.sim.settings_env(), **self.app_settings}

    def connection_string(self, table_url: str | None = None) -> str:
        conn = self.azurite.connection_string(self.account)
        if table_url:
            ours = f"{self.table_url}/{self.account}"
            conn = conn.replace(ours, f"{table_url.rstrip('/')}/{self.account}")
        return conn

    @property
    def table_url(self) -> str:
        return f"http://127.0.0.1:{self.azurite.ports['table']}"

    @property
    def api(self) -> str:
        return f"{self.host.url}/api"

    @property
    def function_key(self) -> str:
        return self.host.function_key

    # -- calling the app ----------------------------------------------------------------------
    def call(self, method: str, path: str, *, who: str | None = None, body=None, key: bool = True,
             token: str | None = None, host: DevHostProcess | None = None, timeout: float = 30,
             **kwargs) -> requests.Response:
        """An HTTP call to the app; `who` ('agent' or 'master') sends that identity's IMDS token,
        `token` any other bearer token. A call with neither is an operator's: it carries the master key
        (the operator routes are admin level), the others the function key the VMs have."""
        host = host or self.host
        headers = dict(kwargs.pop("headers", {}))
        if key:
            headers["x-functions-key"] = host.master_key if who is None and token is None else host.function_key
        bearer = token or (self.sim.token(who) if who else None)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return requests.request(method, f"{host.url}/api/{path}", json=body, headers=headers, timeout=timeout,
                                **kwargs)

    @property
    def identities(self) -> NodeIdentities:
        """Attested joins as the simulated VMs, and the node credentials they were given."""
        return NodeIdentities(self.sim, self.call, self.node_credentials)

    def node_row(self, name: str, host: DevHostProcess | None = None) -> dict | None:
        """One registry row as an operator reads it (GET /api/nodes, paged), or None."""
        token = None
        while True:
            params = {"limit": 500, **({"next": token} if token else {})}
            page = self.call("GET", "nodes", who=None, params=params, host=host)
            page.raise_for_status()
            body = page.json()
            found = [row for row in body["nodes"] if row["name"] == name]
            if found or not body.get("next"):
                return found[0] if found else None
            token = body["next"]

    def join(self, hostname: str, **kwargs) -> requests.Response:
        """POST /api/join as the VM `hostname`'s agent does (nonce, attested document, join)."""
        return self.identities.join(hostname, **kwargs)

    def register_master(self, host: DevHostProcess | None = None) -> requests.Response:
        """What master cloud-init does once k3s runs: POST /api/cluster with the master's identity
        and the master VM's attested document."""
        response = self.identities.register(self.sim.kube.registration(), host=host)
        response.raise_for_status()
        return response
