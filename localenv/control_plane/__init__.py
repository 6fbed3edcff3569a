"""A real Kubernetes control plane for the tests and `tasks.py serve --real-kube`: binaries built
from the official Go modules (binaries.py), certificates (pki.py), the processes (cluster.py)
and the app's credential made from cloud-init/master.yml's own manifest (credential.py)."""
