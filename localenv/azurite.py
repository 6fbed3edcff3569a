"""Start and stop Azurite (tables + queues) on free ports.

Azurite comes from npm into `.tools/` (see tasks.py). It listens on port 0 and prints the
ports it chose; we read them from its output. Extra storage accounts (`accounts=N`) give
test workers isolated namespaces inside one Azurite process.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AZURITE_VERSION = "3.35.0"  # 3.36+ needs node >= 21
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="  # public
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at http://[\d.]+:(\d+)")


class AzuriteError(RuntimeError):
    pass


def azurite_bin() -> str:
    local = ROOT / ".tools" / "node_modules" / ".bin" / "azurite"
    found = os.environ.get("AZURITE_BIN") or (str(local) if local.exists() else shutil.which("azurite"))
    if not found:
        raise AzuriteError("Azurite is not installed: run `python3 tasks.py setup`")
    return found


def account_key(name: str) -> str:
    return DEV_KEY if name == DEV_ACCOUNT else base64.b64encode(hashlib.sha256(name.encode()).digest()).decode()


def account_name(index: int) -> str:
    return f"nodepooltest{index}"


class Azurite:
    def __init__(self, location: Path | None = None, accounts: int = 0, log: Path | None = None):
        self.location = location  # None: in-memory (fast, nothing left behind)
        self.accounts = accounts
        self.log_path = log
        self.ports: dict[str, int] = {}
        self._proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> Azurite:
        args = [azurite_bin(), "--skipApiVersionCheck", "--disableTelemetry", "--loose",
                "--blobPort", "0", "--queuePort", "0", "--tablePort", "0"]
        if self.location:
            self.location.mkdir(parents=True, exist_ok=True)
            args += ["--location", str(self.location), "--silent"]
        else:
            args += ["--inMemoryPersistence", "--silent"]
        env = dict(os.environ)
        if self.accounts:
            names = [DEV_ACCOUNT] + [account_name(i) for i in range(self.accounts)]
            env["AZURITE_ACCOUNTS"] = ";".join(f"{n}:{account_key(n)}" for n in names)
        self._proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                      env=env, cwd=str(self.location or ROOT), start_new_session=True)
        deadline = time.monotonic() + timeout
        lines = []
        while len(self.ports) < 3:
            line = self._proc.stdout.readline()
            if not line:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AzuriteError("Azurite did not start:\n" + "".join(lines[-20:]))
                continue
            lines.append(line)
            match = _LISTENING.search(line)
            if match:
                self.ports[match.group(1).lower()] = int(match.group(2))
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        sink = open(self.log_path, "a") if self.log_path else None
        for line in self._proc.stdout:
            if sink:
                sink.write(line)
                sink.flush()

    def connection_string(self, account: str = DEV_ACCOUNT) -> str:
        base = "http://127.0.0.1"
        return (f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={account_key(account)};"
                f"BlobEndpoint={base}:{self.ports['blob']}/{account};"
                f"QueueEndpoint={base}:{self.ports['queue']}/{account};"
                f"TableEndpoint={base}:{self.ports['table']}/{account};")

    def stop(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
