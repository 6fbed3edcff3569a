"""The live view: while the story runs on a terminal, the pool's last sample stays under its lines."""
from __future__ import annotations

import sys
from contextlib import contextmanager, nullcontext


def _table(recorder):
    from rich.table import Table

    table = Table(title="the pool now", title_justify="left")
    for column in ("Nodes (pool/state)", "registry", "pending pods", "preemptions", "t"):
        table.add_column(column)
    if recorder.samples:
        s = recorder.samples[-1]
        table.add_row(", ".join(f"{k} {n}" for k, n in sorted(s.nodes.items())) or "none",
                      ", ".join(f"{k} {n}" for k, n in sorted(s.registry.items())) or "empty",
                      str(s.pending), str(len(recorder.preemptions)), f"{s.t:.0f} s")
    return table


@contextmanager
def live_view(recorder, out=None):
    """rich's Live when stdout is a terminal (the story's lines print above it); plain lines otherwise."""
    out = out or sys.stdout
    if not out.isatty():
        with nullcontext():
            yield
        return
    from rich.console import Console
    from rich.live import Live

    class Renderable:
        def __rich__(self):
            return _table(recorder)

    with Live(Renderable(), console=Console(file=out), refresh_per_second=2, transient=True):
        yield
