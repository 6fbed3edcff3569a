"""Adapters: the production implementations of the ports in nodepool.core.ports."""
