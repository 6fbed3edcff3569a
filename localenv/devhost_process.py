"""`DevHostProcess`: the app in `python -m devhost`, run as a subprocess for tests, benchmarks and demos.

A separate process keeps load generators out of the host's interpreter and lets crash tests
SIGKILL it. Unless told otherwise it configures random keys itself, so the host never prints
a key and tests know both. All output is captured for `logs()` (e.g. to assert a secret
never appears).

    with DevHostProcess(app_dir=ROOT, env={"AzureWebJobsStorage": conn}) as host:
        requests.get(f"{host.url}/api/nodes", headers={"x-functions-key": host.master_key})
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
_READY = re.compile(r"^devhost listening on (http://\S+)")
_MASTER = re.compile(r"^devhost master key \(generated\): (\S+)")


class DevHostError(RuntimeError):
    pass


class DevHostProcess:
    def __init__(self, app_dir: Path | str = ROOT, env: Mapping[str, str] | None = None, port: int = 0,
                 args: Sequence[str] = (), keys: bool = True, startup_timeout: float = 30.0,
                 echo: TextIO | None = None):
        """`keys=False`: configure no keys, so the host generates a master key and prints it.
        `echo`: also write every line of the host's output there (a terminal, a log file)."""
        self.app_dir, self.port, self.args, self.echo = Path(app_dir).resolve(), port, list(args), echo
        self.startup_timeout = startup_timeout
        self.env = dict(env or {})
        if keys and not {"DEVHOST_MASTER_KEY", "DEVHOST_FUNCTION_KEYS"} & self.env.keys():
            self.env["DEVHOST_MASTER_KEY"] = secrets.token_urlsafe(24)
            self.env["DEVHOST_FUNCTION_KEYS"] = secrets.token_urlsafe(24)
        self.master_key: str | None = self.env.get("DEVHOST_MASTER_KEY")
        self.function_key: str | None = (self.env.get("DEVHOST_FUNCTION_KEYS") or "").split(",")[0].strip() or None
        self.url: str | None = None
        self._proc: subprocess.Popen | None = None
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []

    def start(self) -> DevHostProcess:
        """Start and wait for the readiness line; DevHostError (with the output) if it never comes."""
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        cmd = [sys.executable, "-m", "devhost", "--app-dir", str(self.app_dir), "--port", str(self.port), *self.args]
        self._proc = subprocess.Popen(cmd, cwd=self.app_dir, env=env, text=True, bufsize=1,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._readers = [threading.Thread(target=self._read, args=(stream,), daemon=True)
                         for stream in (self._proc.stdout, self._proc.stderr)]
        for reader in self._readers:
            reader.start()
        deadline = time.monotonic() + self.startup_timeout
        while self.url is None:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                code = self._proc.poll()
                self.kill()
                raise DevHostError(f"devhost did not start (exit code {code}):\n{self.logs()}")
            time.sleep(0.02)
        return self

    def _read(self, stream) -> None:
        for line in stream:
            with self._lock:
                self._lines.append(line)
                if self.echo is not None:
                    self.echo.write(line)
                    self.echo.flush()
            if ready := _READY.match(line):
                self.url = ready.group(1)
            elif master := _MASTER.match(line):
                self.master_key = master.group(1)

    def logs(self) -> str:
        """Everything the host wrote to stdout and stderr so far."""
        with self._lock:
            return "".join(self._lines)

    def wait_for_log(self, text: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.logs():
                return True
            time.sleep(0.05)
        return False

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM: the host finishes running invocations, then exits. Killed after `timeout`."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._join_readers()
        return self.returncode

    def kill(self) -> None:
        """SIGKILL, as a crash: nothing is finished or handed back."""
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._join_readers()

    def pause(self) -> None:
        """SIGSTOP: the host hangs (connections queue in the listen backlog) until `resume`."""
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGCONT)

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    def __enter__(self) -> DevHostProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
