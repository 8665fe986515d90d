"""The training curve of a run: loss and validation CER against lines seen."""

from __future__ import annotations

import json
from pathlib import Path


def plot_curve(metrics: Path, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines()]
    train = [r for r in records if "loss" in r]
    val = [r for r in records if "val_cer" in r]
    fig, ax1 = plt.subplots(figsize=(8, 4.5))
    ax1.plot([r["lines"] for r in train], [r["loss"] for r in train], color="tab:blue", lw=0.8)
    ax1.set_xlabel("training lines seen")
    ax1.set_ylabel("CTC loss", color="tab:blue")
    ax1.set_yscale("log")
    ax2 = ax1.twinx()
    ax2.plot([r["lines"] for r in val], [100 * r["val_cer"] for r in val], "o-", color="tab:red")
    ax2.set_ylabel("validation CER (%)", color="tab:red")
    ax2.set_ylim(bottom=0)
    ax1.set_title(metrics.parent.name)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
