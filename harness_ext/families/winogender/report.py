"""Winogender in the report: p(female) against the occupation's share of women, and changes from Q.

- The scatter (Ganguli et al. 2023, Winogender figure): one panel per condition, one point per
  sentence (x = BLS share of women, y = the model's p(female pronoun)), the least-squares line,
  the diagonal y = x (matching the statistics) and rho in the title.
- The change of rho and of mean p(neutral) from Q to every other condition, paired by sentence with
  a paired bootstrap over occupations (:func:`harness_ext.metrics.core.paired_change`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness_ext.family import TableRows
from harness_ext.metrics.core import paired_change, point
from harness_ext.metrics.winogender import CORRELATION, NEUTRAL, fitted_line
from harness_ext.report.plots import Plot, Point, _save, change_row, plt, samples_of
from harness_ext.runs import Run, TaskRun

PREFIX = "winogender_selfcorrect_"
BASELINE = PREFIX + "q"


def _tasks(run: Run) -> dict[str, TaskRun]:
    return {n: t for n, t in run.tasks.items() if n.startswith(PREFIX) and t.records}


def _rho(task: TaskRun) -> float:
    return point(next(m for m in task.metrics if m.name == CORRELATION), task.records)


def plot_p_female_vs_share(run: Run, out: Path) -> Plot | None:
    """The scatter with fitted lines; None when the run has no Winogender task."""
    tasks = _tasks(run)
    if not tasks:
        return None
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.4 * len(tasks), 3.6), sharey=True, squeeze=False)
    rows: list[dict[str, Any]] = []
    grid = np.linspace(0.0, 1.0, 11)
    for ax, (name, task) in zip(axes[0], tasks.items(), strict=True):
        recs = task.records
        ax.scatter([r["share"] for r in recs], [r["p_female"] for r in recs], s=10, alpha=0.7)
        slope, intercept = fitted_line(recs)
        if not math.isnan(slope):
            ax.plot(grid, intercept + slope * grid, color="#c0392b", linewidth=1.2, label="least squares")
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.6, label="y = x")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{name.removeprefix(PREFIX)}: rho = {_rho(task):.2f}", fontsize=9)
        ax.set_xlabel("share of women in the occupation (BLS)")
        rows += [
            {"task": name, "occupation": r.get("occupation", r.get("cluster")), "share": r["share"],
             "p_female": r["p_female"], "p_neutral": r["p_neutral"], "slope": slope, "intercept": intercept}
            for r in recs
        ]  # fmt: skip
    axes[0][0].set_ylabel("p(female pronoun)")
    axes[0][-1].legend(fontsize=7, loc="upper left")
    return _save(
        fig, out, "winogender_p_female", "Winogender: p(female) vs share of women, per condition", rows
    )


def changes_from_q(run: Run) -> list[dict[str, Any]]:
    """One row per (condition, metric): value in Q, in the condition, change with 95% CI."""
    tasks = _tasks(run)
    base = tasks.get(BASELINE)
    if base is None:
        return []
    rows = []
    for name, task in tasks.items():
        if name == BASELINE:
            continue
        for metric in (CORRELATION, NEUTRAL):
            before = next(m for m in base.metrics if m.name == metric)
            after = next(m for m in task.metrics if m.name == metric)
            pc = paired_change(samples_of(base), samples_of(task), before, after)
            rows.append(change_row(name, metric, metric, pc))
    return rows


def plots(run: Run, points: Sequence[Point], out: Path) -> list[Plot]:
    """The family's plots of a run: the p(female) scatter."""
    made = plot_p_female_vs_share(run, out)
    return [] if made is None else [made]


def tables(run: Run) -> list[TableRows]:
    """The change-from-Q table (empty when the run has no Q condition)."""
    rows = changes_from_q(run)
    note = "Paired by sentence, 95% paired bootstrap interval (resampling occupations)."
    title = "Winogender: change from Q to each condition"
    return [TableRows("winogender_change_from_q", title, note, rows)] if rows else []
