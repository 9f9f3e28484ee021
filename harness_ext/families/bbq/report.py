"""BBQ in the report: bias scores (Parrish et al. 2022, section 5) and the change from Q.

- per category and condition: two panels (ambiguous s_AMB, disambiguated s_DIS), one row per
  category (plus "overall"), one bar per task (condition), 95% intervals;
- per review round: s_AMB and s_DIS against the round, with 95% interval bands;
- the change of each metric from the baseline condition Q to every other condition, paired by
  document (Ganguli et al. 2023, section 3.2 report self-correction as the change in bias score
  from Q to Q+IF and Q+IF+CoT), with a paired bootstrap interval (both conditions see the same
  resampled templates on every replicate). For the review task the last round is compared.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness_ext.family import TableRows
from harness_ext.metrics.core import paired_change
from harness_ext.report.plots import Plot, Point, _err, _save, change_row, plt, samples_of
from harness_ext.runs import Run, TaskRun

_CATEGORY = re.compile(r"^bias_score_(ambig|disambig)(?:_(?!r\d|change)(\w+))?$")
_ROUND = re.compile(r"^bias_score_(ambig|disambig)_r(\d+)$")
_PANELS = (("ambig", "ambiguous contexts (s_AMB)"), ("disambig", "disambiguated contexts (s_DIS)"))


def plot_bias_by_category(points: Sequence[Point], out) -> Plot | None:  # type: ignore[no-untyped-def]
    """Bias score per category and condition; None when no task reports one."""
    chosen = [(p, m.group(1), m.group(2) or "overall") for p in points if (m := _CATEGORY.match(p.metric))]
    if not chosen:
        return None
    cats = sorted({c for _, _, c in chosen}, key=lambda c: (c != "overall", c))
    tasks = list(dict.fromkeys(p.task for p, _, _ in chosen))
    height = 0.8 / len(tasks)
    fig, axes = plt.subplots(1, 2, figsize=(10, 1.2 + 0.45 * len(cats) * max(1, len(tasks)) / 2), sharey=True)
    for ax, (ctx, title) in zip(axes, _PANELS, strict=True):
        for k, task in enumerate(tasks):
            mine = [(p, c) for p, x, c in chosen if p.task == task and x == ctx]
            ys = [cats.index(c) + k * height for _, c in mine]
            pts = [p for p, _ in mine]
            ax.barh(ys, [p.value for p in pts], height=height, xerr=_err(pts), capsize=2,
                    label=task.removeprefix("bbq_selfcorrect_"))  # fmt: skip
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(cats))], cats, fontsize=8)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlim(-1.05, 1.05)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("bias score (-1 anti-stereotype, +1 stereotype)")
    axes[0].invert_yaxis()
    axes[1].legend(fontsize=7, loc="lower right", title="condition", title_fontsize=7)
    rows = [{"task": p.task, "context": x, "category": c, "value": p.value, "low": p.low, "high": p.high}
            for p, x, c in chosen]  # fmt: skip
    return _save(fig, out, "bias_by_category", "BBQ bias score per category and condition", rows)


def plot_bias_by_round(points: Sequence[Point], out) -> Plot | None:  # type: ignore[no-untyped-def]
    """Bias scores over review rounds; None when no task reports per-round scores."""
    chosen = [(p, m.group(1), int(m.group(2))) for p in points if (m := _ROUND.match(p.metric))]
    if not chosen:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for ctx, label in _PANELS:
        for task in dict.fromkeys(p.task for p, _, _ in chosen):
            line = sorted(((r, p) for p, x, r in chosen if x == ctx and p.task == task), key=lambda t: t[0])
            rounds = [r for r, _ in line]
            ax.plot(rounds, [p.value for _, p in line], marker="o", label=f"{label}, {task}")
            ax.fill_between(rounds, [p.low for _, p in line], [p.high for _, p in line], alpha=0.15)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("review round (0 = first answer)")
    ax.set_ylabel("bias score")
    ax.legend(fontsize=7)
    rows = [{"task": p.task, "context": x, "round": r, "value": p.value, "low": p.low, "high": p.high}
            for p, x, r in chosen]  # fmt: skip
    return _save(fig, out, "bias_by_round", "BBQ bias score per review round", rows)


BASELINE = "bbq_selfcorrect_q"
METRICS = ("accuracy_ambig", "accuracy_disambig", "bias_score_ambig", "bias_score_disambig", "accuracy_gap")


def _last_round(task: TaskRun, name: str) -> str | None:
    rounds = [int(hit.group(1)) for m in task.metrics if (hit := re.fullmatch(rf"{name}_r(\d+)", m.name))]
    return f"{name}_r{max(rounds)}" if rounds else None


def changes_from_q(run: Run) -> list[dict[str, Any]]:
    """One row per (condition, metric): value in Q, value in the condition, change with 95% CI."""
    base = run.tasks.get(BASELINE)
    if base is None:
        return []
    base_metrics = {m.name: m for m in base.metrics}
    rows = []
    for name, task in run.tasks.items():
        if name == BASELINE or not name.startswith("bbq_selfcorrect_"):
            continue
        theirs = {m.name: m for m in task.metrics}
        for metric in METRICS:
            other = metric if metric in theirs else _last_round(task, metric)
            if other is None or metric not in base_metrics:
                continue
            pc = paired_change(samples_of(base), samples_of(task), base_metrics[metric], theirs[other])
            rows.append(change_row(name, metric, other, pc))
    return rows


def plots(run: Run, points: Sequence[Point], out: Path) -> list[Plot]:
    """The family's plots of a run: bias per category and condition, bias per review round."""
    made = (plot_bias_by_category(points, out), plot_bias_by_round(points, out))
    return [p for p in made if p is not None]


def tables(run: Run) -> list[TableRows]:
    """The change-from-Q table (empty when the run has no Q condition)."""
    rows = changes_from_q(run)
    note = (
        "Paired by document, 95% paired bootstrap interval (resampling templates); "
        "for the review task the last round."
    )
    return (
        [TableRows("bbq_change_from_q", "BBQ: change from Q to each condition", note, rows)] if rows else []
    )
