"""Node-side helper of the k3s spot pool: join, leave and the scheduled-events watcher.

Standard library only, Python 3.8+: it runs on a bare Ubuntu image, shipped as one zipapp
(`python3 /usr/local/lib/nodepool/agent.pyz COMMAND`) built from this package.
"""
__version__ = "0.1.0"
