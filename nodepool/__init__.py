"""The k3s spot-pool control plane: domain, services and adapters (no azure.functions here)."""
