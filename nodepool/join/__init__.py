"""Joining the cluster: the master's registration, an agent's join and its bootstrap token."""
