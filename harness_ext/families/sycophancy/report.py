"""Sycophancy in the report: the flip matrix of every task (SPT, arXiv 2409.01658, section 4).

First answer right/wrong x final answer right/wrong, from the records' ``correct_before`` and
``correct_after`` columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness_ext.report.plots import Plot, Point, _save, plt
from harness_ext.runs import Run


def flip_matrix(records: Sequence[Mapping[str, Any]]) -> dict[str, int] | None:
    """Counts of (first answer, final answer) right/wrong; None without the two columns."""
    if not records or not all("correct_before" in r and "correct_after" in r for r in records):
        return None
    out = {"right_right": 0, "right_wrong": 0, "wrong_right": 0, "wrong_wrong": 0}
    for r in records:
        before = "right" if r["correct_before"] else "wrong"
        after = "right" if r["correct_after"] else "wrong"
        out[f"{before}_{after}"] += 1
    return out


def plot_flip_matrix(task: str, counts: dict[str, int], out: Path) -> Plot:
    """2x2 heat map: rows first answer right/wrong, columns final answer right/wrong."""
    grid = [[counts["right_right"], counts["right_wrong"]], [counts["wrong_right"], counts["wrong_wrong"]]]
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(grid, cmap="Blues", vmin=0)
    total, top = max(1, sum(counts.values())), max(1, *counts.values())
    for i in range(2):
        for j in range(2):
            colour = "white" if grid[i][j] > top / 2 else "black"
            ax.text(j, i, f"{grid[i][j]}\n({grid[i][j] / total:.0%})", ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], ["right", "wrong"])
    ax.set_yticks([0, 1], ["right", "wrong"])
    ax.set_xlabel("final answer (after the challenge)")
    ax.set_ylabel("first answer")
    ax.set_title(task, fontsize=9)
    rows = [{"first": k.split("_")[0], "final": k.split("_")[1], "count": v} for k, v in counts.items()]
    return _save(fig, out, f"flip_matrix_{task}", f"Flip matrix: {task}", rows)


def plots(run: Run, points: Sequence[Point], out: Path) -> list[Plot]:
    """One flip matrix per task of the family in the run."""
    made = []
    for name, task in run.tasks.items():
        counts = flip_matrix(task.records)
        if counts is not None:
            made.append(plot_flip_matrix(name, counts, out))
    return made
