"""`python3 tasks.py demo` (or `python -m demo`): the product's story on one machine, as a timeline.

Azurite, the simulator, the real app in the dev host (localenv/stack.py) and the real node-side
helper (`python3 -m agent`) for every simulated VM: agents join, a spot VM is evicted with notice
and drained before NotBefore, another is killed without notice and reconcile removes its ghost.
"""
