"""timeline.png: nodes by pool and state (stacked), pending pods, and the story's events and decisions."""
from __future__ import annotations

from pathlib import Path

COLOURS = {"Ready": "tab:green", "cordoned": "tab:orange", "NotReady": "tab:red"}
OTHER_POOL = {"Ready": "tab:cyan", "cordoned": "tab:olive", "NotReady": "tab:pink"}  # the fallback pool's nodes


def colour(key: str, first_pool: str) -> str:
    pool, state = key.split("/", 1)
    return (COLOURS if pool == first_pool else OTHER_POOL).get(state, "tab:gray")


def timeline_png(recorder, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    samples = recorder.samples
    t = [s.t for s in samples]
    keys = sorted({k for s in samples for k in s.nodes}, key=lambda k: (k.split("/")[0], list(COLOURS).index(
        k.split("/")[1]) if k.split("/")[1] in COLOURS else 9))
    fig, (top, middle, bottom) = plt.subplots(3, 1, sharex=True, figsize=(11, 7),
                                             gridspec_kw={"height_ratios": [3, 1.2, 1.4]})
    if keys:
        series = [[s.nodes.get(k, 0) for s in samples] for k in keys]
        top.stackplot(t, series, labels=keys, step="post", alpha=0.85,
                      colors=[colour(k, keys[0].split("/")[0]) for k in keys])
    top.step(t, [s.vms for s in samples], where="post", color="black", linestyle="--", linewidth=1,
             label="VMs in the scale sets (ARM)")
    top.legend(loc="upper left", fontsize=8)
    top.set_ylabel("Kubernetes Nodes")
    top.set_title("nodes by pool and state, pending pods, events and decisions")
    middle.step(t, [s.pending for s in samples], where="post", color="tab:purple")
    middle.set_ylabel("pending pods")
    bottom.set_yticks([0, 1], ["decision", "event"])
    bottom.set_ylim(-0.6, 1.6)
    for i, (at, kind, label) in enumerate(recorder.marks):
        y = 1 if kind == "event" else 0
        bottom.plot([at], [y], marker="v" if y else "o", color="tab:blue" if y else "tab:brown")
        bottom.annotate(label[:38], (at, y), xytext=(2, 4 + 9 * (i % 3)), textcoords="offset points", fontsize=7,
                        rotation=15)  # staggered: marks close in time keep their labels apart
    for axis in (top, middle, bottom):
        for at, _, _ in recorder.marks:
            axis.axvline(at, color="grey", linewidth=0.4, alpha=0.5)
    bottom.set_xlabel("seconds since the demo started")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
