"""Plot data (pure functions) and their PNG + CSV + JSON files (matplotlib, Agg backend).

Which plots a run gets follows from its metric and column names, so families that land later get
theirs without code here:

- **flip matrix** (sycophancy): records with ``correct_before`` and ``correct_after`` columns;
  first answer right/wrong x final answer right/wrong (SPT, arXiv 2409.01658, section 4).
- **apology rate**: metrics named ``apology_rate*``, per task, with 95% intervals.
- **bias scores** (BBQ, Parrish et al. 2022, section 5): metrics named ``bias_score*``, one group of
  bars per metric (category / context / round in its name), one bar per task (condition).
- **refusal rates**: metrics with ``refusal`` in the name, per task; and the OR-Bench-style scatter
  (Cui et al. 2024, figure 1): x = refusal on safe prompts, y = refusal on unsafe prompts, per task.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@dataclass(frozen=True)
class Point:
    """One metric of one task with its interval."""

    task: str
    metric: str
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Plot:
    """A written plot: its title, PNG and the data files next to it."""

    title: str
    png: str
    csv: str
    json: str


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


_UNSAFE = re.compile(r"(?:^|_)(?:unsafe|harmful|toxic)(?:_|$)")
_SAFE = re.compile(r"(?:^|_)(?:safe|benign)(?:_|$)|^over_refusal")


def refusal_axes(names: Sequence[str]) -> tuple[str, str] | None:
    """(refusal-on-safe metric, refusal-on-unsafe metric) among ``names``, if both exist.

    OR-Bench's own axes (``rejection_rate_safe`` / ``rejection_rate_unsafe``: any refusal, full or
    partial) win; otherwise the first refusal metrics that name safe and unsafe prompts.
    """
    if "rejection_rate_safe" in names and "rejection_rate_unsafe" in names:
        return "rejection_rate_safe", "rejection_rate_unsafe"
    ref = [n for n in names if "refusal" in n and "spread" not in n]
    safe = [n for n in ref if _SAFE.search(n) and not _UNSAFE.search(n)]
    unsafe = [n for n in ref if _UNSAFE.search(n)]
    return (safe[0], unsafe[0]) if safe and unsafe else None


def select(points: Sequence[Point], pattern: str) -> list[Point]:
    """Points whose metric matches the regular expression ``pattern`` (and are defined)."""
    rx = re.compile(pattern)
    return [p for p in points if rx.search(p.metric) and not math.isnan(p.value)]


# --------------------------------------------------------------------------- files
def _write_data(out: Path, stem: str, rows: list[dict[str, Any]]) -> tuple[str, str]:
    csv_path, json_path = out / f"{stem}.csv", out / f"{stem}.json"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["empty"])
        w.writeheader()
        w.writerows(rows)
    clean = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]
    json_path.write_text(json.dumps(clean, indent=1), encoding="utf-8")
    return csv_path.name, json_path.name


def _save(fig: Any, out: Path, stem: str, title: str, rows: list[dict[str, Any]]) -> Plot:
    png = out / f"{stem}.png"
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
    c, j = _write_data(out, stem, rows)
    return Plot(title, png.name, c, j)


def _err(points: Sequence[Point]) -> list[list[float]]:
    lo = [0.0 if math.isnan(p.low) else max(0.0, p.value - p.low) for p in points]
    hi = [0.0 if math.isnan(p.high) else max(0.0, p.high - p.value) for p in points]
    return [lo, hi]


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


def plot_bars(points: Sequence[Point], out: Path, stem: str, title: str, xlabel: str) -> Plot:
    """Horizontal bars with 95% intervals, grouped by metric, one colour per task."""
    metrics = list(dict.fromkeys(p.metric for p in points))
    tasks = list(dict.fromkeys(p.task for p in points))
    height = 0.8 / max(1, len(tasks))
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.35 * len(points)))
    for k, task in enumerate(tasks):
        mine = [p for p in points if p.task == task]
        ys = [metrics.index(p.metric) + k * height for p in mine]
        ax.barh(ys, [p.value for p in mine], height=height, xerr=_err(mine), capsize=2, label=task)
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(metrics))], metrics, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title, fontsize=10)
    rows = [vars(p) for p in points]
    return _save(fig, out, stem, title, rows)


def plot_refusal_scatter(pairs: Sequence[tuple[str, Point, Point]], out: Path) -> Plot:
    """OR-Bench-style map: refusal on safe (x) against refusal on unsafe (y), one point per task."""
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for task, x, y in pairs:
        ax.errorbar([x.value], [y.value], xerr=_err([x]), yerr=_err([y]), fmt="o", capsize=2, label=task)
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.6, linestyle="--")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("refusal rate on safe prompts (over-refusal)")
    ax.set_ylabel("refusal rate on unsafe prompts")
    ax.legend(fontsize=7, loc="lower right")
    rows = [
        {"task": t, "x_metric": x.metric, "x": x.value, "y_metric": y.metric, "y": y.value}
        for t, x, y in pairs
    ]
    return _save(fig, out, "refusal_scatter", "Refusal on safe vs unsafe prompts", rows)
