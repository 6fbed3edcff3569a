"""Benchmarks: run with `python3 tasks.py bench NAME --json`; not collected by pytest."""
