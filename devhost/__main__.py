"""`python -m devhost`: run function_app.py locally like `func start`, without Core Tools.

Prints one `devhost listening on http://HOST:PORT` line once HTTP, queues and timers are up;
exits 2 with a message naming the function when the app would not load in the real host.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from pathlib import Path

from devhost import log
from devhost.app_index import AppIndexError
from devhost.host import Host, StartupError
from devhost.host_config import HostConfigError
from devhost.settings import SettingsError

READY = "devhost listening on"
MASTER_KEY = "devhost master key (generated):"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__.splitlines()[0])
    parser.add_argument("--app-dir", type=Path, default=Path.cwd(), help="function app folder (default: cwd)")
    parser.add_argument("--port", type=int, default=None,
                        help="HTTP port; 0 picks a free one (default: local.settings.json Host.LocalHttpPort or 7071)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--no-queues", action="store_true", help="do not poll queue triggers")
    parser.add_argument("--no-timers", action="store_true", help="do not run timer triggers")
    return parser.parse_args(argv)


def restart(args: argparse.Namespace, host: Host) -> None:
    """What the Functions host does when an invocation outlives functionTimeout: restart the language
    worker, ending every invocation on it. Here host and worker are one process, so it runs again
    (same arguments, same port: callers reconnect where they were), with nothing of the old one kept."""
    port = host.server.server_address[1]
    print(f"devhost: restarting the worker after a function timeout (port {port})", file=sys.stderr, flush=True)
    sys.stdout.flush()
    host.server.server_close()
    argv = [sys.executable, "-m", "devhost", "--app-dir", str(args.app_dir), "--port", str(port), "--bind", args.bind,
            *(["--no-queues"] if args.no_queues else []), *(["--no-timers"] if args.no_timers else [])]
    os.execv(sys.executable, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.app_dir = args.app_dir.resolve()
    os.chdir(args.app_dir)  # like `func start`: the app runs in its own folder
    log.setup()
    sys.stdout.reconfigure(line_buffering=True)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    host = Host(args.app_dir, port=args.port, bind=args.bind, queues=not args.no_queues, timers=not args.no_timers,
                restart_worker=lambda: restart(args, host))
    try:
        host.start()
    except (AppIndexError, StartupError, HostConfigError, SettingsError) as err:
        print(f"devhost: cannot start: {err}", file=sys.stderr, flush=True)
        return 2
    except Exception:  # function_app.py itself failed to import: show where, as the worker does
        traceback.print_exc()
        print("devhost: cannot start: function_app.py failed to load", file=sys.stderr, flush=True)
        return 2
    print("Functions:\n" + "\n".join(f"    {line}" for line in host.summary))
    if host.keys.generated:
        print(f"{MASTER_KEY} {host.keys.master_key}")  # only ever a generated key, never a configured one
    print(f"{READY} {host.url}", flush=True)
    while not stopping.wait(1.0):
        pass
    host.stop()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # do not wait for invocations still running past the stop grace
