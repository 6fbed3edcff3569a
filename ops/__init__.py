"""The operator's commands behind `tasks.py` (deploy, publish, operate the pools), through the Azure SDKs.

Each module is one concern; tasks.py only parses arguments and calls one function here.
"""
