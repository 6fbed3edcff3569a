"""Stand-ins for Azure (ARM scale set, IMDS, Entra ID) and Kubernetes as real HTTP servers.

`from sim import Simulator` (see sim/cluster.py), or `python -m sim --agents 5`.
"""


def __getattr__(name: str):
    if name == "Simulator":  # lazy: importing sim.kube alone should not start the whole world
        from sim.cluster import Simulator

        return Simulator
    raise AttributeError(name)
