"""The operator's view: status, the node registry, health."""
