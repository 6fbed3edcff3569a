"""The product on one machine for `tasks.py serve`, the demo, end-to-end tests and benchmarks:
Azurite (azurite.py), the simulator, and the app in dev host processes (devhost_process.py),
composed in one place (stack.py: `LocalStack`).
"""
