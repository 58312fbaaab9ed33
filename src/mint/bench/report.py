"""Reporting results: the machine they were measured on, a text table, JSON and a bar chart."""

import contextlib
import json
import os
import platform

import numpy as np

import mint
from mint.bench.specs import torch_available


def machine_description(threads):
    """What the numbers were measured on: CPU, cores, threads and library versions."""
    import numba

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    meta = {"cpu": cpu, "cores": os.cpu_count(), "threads": threads,
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "mint": mint.__version__}
    if torch_available():
        import torch

        meta["torch"] = torch.__version__
    return meta


def format_table(results):
    """A fixed-width text table: one row per (case, strategy), and a threads column when the
    results were measured with more than one thread count (a sweep)."""
    header = ("op", "direction", "shape", "strategy", "median ms", "GFLOP/s", "img/s", "vs best")
    rows = [header]
    for r in results:
        rows.append((
            r.op, r.direction, r.shape, r.strategy, f"{r.median_ms:.3f}",
            "-" if r.gflops is None else f"{r.gflops:.1f}", f"{r.images_per_s:,.0f}",
            f"{r.ratio_to_fastest:.2f}x",
        ))
    if len({r.threads for r in results}) > 1:
        rows = [(*row[:3], threads, *row[3:])
                for row, threads in zip(rows, ["threads", *(str(r.threads) for r in results)],
                                        strict=True)]
    left = rows[0].index("strategy") + 1  # the names are left-aligned, the numbers right
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) if i < left else cell.rjust(w)
                  for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_json(results, path, meta):
    with open(path, "w") as f:
        json.dump({"meta": meta, "results": [r.__dict__ for r in results]}, f, indent=2)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(results, path):
    """A horizontal bar chart: per case, each strategy's speed relative to the fastest one."""
    plt = _pyplot()
    labels = list(dict.fromkeys(f"{r.op} {r.direction}, {r.shape}" for r in results))
    strategies = list(dict.fromkeys(r.strategy for r in results))
    speed = {(f"{r.op} {r.direction}, {r.shape}", r.strategy): 1.0 / r.ratio_to_fastest
             for r in results}
    fig, ax = plt.subplots(figsize=(10, 1.5 + 0.2 * len(labels) * len(strategies)))
    height = 0.8 / len(strategies)
    for i, s in enumerate(strategies):
        ys = [j + (i - (len(strategies) - 1) / 2) * height for j in range(len(labels))]
        ax.barh(ys, [speed.get((label, s), np.nan) for label in labels], height, label=s)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("speed relative to the fastest of the case (fastest median / this median)")
    ax.set_title(f"mint bench: {mint.get_num_threads()} thread(s), float32, longer is faster")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_sweep(results, path):
    """Line plots of a sweep: images/s against the batch size (both axes logarithmic), one line
    per strategy, one panel per (op, threads)."""
    plt = _pyplot()
    def case(r):  # the op and the network ("lenet" of "lenet N=64 1x28x28")
        return f"{r.op} ({r.shape.split()[0]})"

    ops = list(dict.fromkeys(case(r) for r in results))
    thread_counts = sorted({r.threads for r in results})
    strategies = list(dict.fromkeys(r.strategy for r in results))
    fig, axes = plt.subplots(len(ops), len(thread_counts), squeeze=False, sharex=True,
                             figsize=(4.5 * len(thread_counts) + 1.5, 3.5 * len(ops)))
    for row, op in enumerate(ops):
        for column, threads in enumerate(thread_counts):
            ax = axes[row][column]
            for s in strategies:
                points = sorted((r.items, r.images_per_s) for r in results
                                if case(r) == op and r.threads == threads and r.strategy == s)
                ax.plot(*zip(*points, strict=True), marker="o", label=s)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{op}, {threads} thread(s)", fontsize=10)
            if row == len(ops) - 1:
                ax.set_xlabel("batch size")
            ax.set_ylabel("images/s")
            ax.grid(which="both", alpha=0.3)
    batches = sorted({r.items for r in results})
    for ax in axes.flat:
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.set_xticks([], minor=True)
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.suptitle("mint bench --sweep batch: images/s (higher is faster), float32")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
