"""Deployment tooling that runs on the operator's machine: cloud-init rendering, tools."""
