"""The whole product on one machine: Azurite + the simulator + the real app in the dev host, wired.

The one place that composes them (`tasks.py serve` and the demo start it): Azurite for tables
and queues (in memory, or data in a folder), the simulator (ARM scale set, IMDS, Entra ID,
Kubernetes) in this process, and function_app.py in a dev host of its own process, configured
for both exactly as app settings would configure it for Azure.

    with LocalStack(agents=5) as stack:
        stack.register_master()                        # POST /api/cluster, as master cloud-init does
        stack.call("GET", "nodes", who=None).json()    # the function key is sent for you

`app_env` is the app's settings: `Settings.from_env(stack.app_env)` wires the same services in
this process (a reconcile tick, say). Keys are generated unless given; nothing here prints one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import requests

from devhost.azurite import Azurite
from devhost.testing import DevHost
from sim.cluster import Simulator


@dataclass
class LocalStack:
    agents: int = 3
    port: int = 0  # the dev host's HTTP port (0: a free one)
    storage: Path | None = None  # Azurite's data folder (None: in memory, gone at stop)
    sim_options: dict = field(default_factory=dict)  # Simulator keyword arguments (kube_options, boot_seconds...)
    app_settings: dict = field(default_factory=dict)  # extra app settings (NODEPOOL_*)
    host_env: dict = field(default_factory=dict)  # the dev host's own knobs (DEVHOST_*: keys, state dir)
    echo: TextIO | None = None  # where the dev host's output goes too
    azurite: Azurite | None = None
    sim: Simulator | None = None
    host: DevHost | None = None

    def start(self) -> LocalStack:
        """Start all three; if one fails, stop what already started and re-raise."""
        try:
            log = self.storage / "azurite.log" if self.storage else None
            self.azurite = Azurite(location=self.storage, log=log).start()
            self.sim = Simulator(self.agents, **self.sim_options).start()
            self.host = DevHost(env={**self.app_env, **self.host_env}, port=self.port, echo=self.echo).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the app, then the simulator, then Azurite; each even if stopping another failed."""
        try:
            if self.host:
                self.host.stop()
        finally:
            try:
                if self.sim:
                    self.sim.stop()
            finally:
                if self.azurite:
                    self.azurite.stop()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def app_env(self) -> dict[str, str]:
        """The app settings: storage, the simulator's endpoints and identities, then `app_settings`."""
        return {"AzureWebJobsStorage": self.azurite.connection_string(), **self.sim.settings_env(),
                **self.app_settings}

    @property
    def api(self) -> str:
        return f"{self.host.url}/api"

    @property
    def function_key(self) -> str:
        return self.host.function_key

    def call(self, method: str, path: str, *, who: str | None = None, body=None, key: bool = True,
             timeout: float = 30) -> requests.Response:
        """An HTTP call to the app; `who` ('agent' or 'master') sends that identity's IMDS token."""
        headers = {"x-functions-key": self.host.function_key} if key else {}
        if who:
            headers["Authorization"] = f"Bearer {self.sim.token(who)}"
        return requests.request(method, f"{self.api}/{path}", json=body, headers=headers, timeout=timeout)

    def register_master(self) -> requests.Response:
        """What master cloud-init does once k3s runs: POST /api/cluster with the master's identity."""
        return self.call("POST", "cluster", who="master", body=self.sim.kube.registration())
