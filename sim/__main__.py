"""`python -m sim --agents 5`: run the simulator until Ctrl-C and say where everything listens."""
from __future__ import annotations

import argparse
import signal
import threading
import time

from sim.cluster import Simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    parser.add_argument("--agents", type=int, default=3, help="scale-set VMs at start")
    parser.add_argument("--boot-seconds", type=float, default=5.0, help="time a new VM takes to boot")
    parser.add_argument("--delete-seconds", type=float, default=2.0, help="time a deletion takes")
    parser.add_argument("--terminate-notice", type=float, default=0.0, help="Terminate event notice on deletes")
    parser.add_argument("--page-size", type=int, default=10, help="VMs per page of the ARM listing")
    parser.add_argument("--no-kube", action="store_true", help="run without the Kubernetes API simulator")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sim = Simulator(args.agents, boot_seconds=args.boot_seconds, delete_seconds=args.delete_seconds,
                    terminate_notice=args.terminate_notice, page_size=args.page_size, kube=not args.no_kube).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:  # from here on an interrupt must stop the servers: their threads would keep us alive
        _describe(sim, time.perf_counter() - started)
        print("Ctrl-C stops.", flush=True)
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def _describe(sim: Simulator, took: float) -> None:
    print(f"simulator up in {took:.2f}s")
    print(f"  ARM       {sim.arm_url}  (scale set {sim.world.config.scale_set_id})")
    print(f"  IdP       {sim.authority}/{sim.tenant_id}/v2.0/.well-known/openid-configuration")
    print(f"  control   {sim.control_url}/sim/state")
    if sim.kube is not None:
        print(f"  kube      {getattr(sim.kube, 'url', '?')}  (bearer token {getattr(sim.kube, 'token', '?')})")
    print("  IMDS (use as the metadata base URL):")
    for vm in [*sim.vms, sim.vm("master0")]:
        print(f"    {vm.computer_name:14} {sim.imds.url_for(vm)}")
    print("environment for the app:")
    for key, value in sim.settings_env().items():
        print(f"  export {key}={value}")


if __name__ == "__main__":
    main()
