"""`tasks.py keys`: an Ed25519 SSH key pair for the admin user (keys/cluster, keys/cluster.pub)."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ops.errors import OpsError


def generate(private: Path, comment: str = "k3s-cluster", force: bool = False, say=print) -> Path:
    public = private.with_name(private.name + ".pub")
    if private.exists() and not force:
        raise OpsError(f"{private} exists; pass --force to replace it (the cluster's VMs keep the old key)")
    key = Ed25519PrivateKey.generate()
    private.parent.mkdir(parents=True, exist_ok=True)
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    openssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    public.write_text(openssh.decode() + f" {comment}\n")
    say(f"SSH key pair written: {private} (private, 0600) and {public}")
    return public
