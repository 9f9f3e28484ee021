"""Over-refusal in the report: refusal per prompt type and the OR-Bench-style map.

- refusal per prompt type: full and partial refusal stacked (XSTest's classes, Röttger et al. 2024);
- the OR-Bench-style scatter (Cui et al. 2024, figure 1): x = refusal on safe prompts,
  y = refusal on unsafe prompts, one point per task;
- CRaFT's certainty: :mod:`harness_ext.families.refusal.certainty_plots`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

from harness_ext.families.refusal.certainty_plots import certainty_plots
from harness_ext.report.plots import Plot, Point, _err, _save, plt
from harness_ext.runs import Run

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


_TYPE = re.compile(r"^(full|partial)_refusal_rate_(?!safe$|unsafe$)(\w+)$")


def plot_refusal_by_type(points: Sequence[Point], out) -> Plot | None:  # type: ignore[no-untyped-def]
    """Full and partial refusal per prompt type (XSTest's classes, Röttger et al. 2024), stacked."""
    chosen = [(p, m.group(1), m.group(2)) for p in points if (m := _TYPE.match(p.metric))]
    if not chosen:
        return None
    types = sorted({t for _, _, t in chosen})
    value = {(kind, t): p.value for p, kind, t in chosen}
    full = [value.get(("full", t), 0.0) for t in types]
    partial = [value.get(("partial", t), 0.0) for t in types]
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.32 * len(types)))
    ax.barh(types, full, label="full refusal", color="#c0392b")
    ax.barh(types, partial, left=full, label="partial refusal", color="#f39c12")
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of responses")
    ax.tick_params(axis="y", labelsize=8)
    ax.legend(fontsize=7, loc="lower right")
    rows = [{"task": p.task, "kind": kind, "type": t, "value": p.value, "low": p.low, "high": p.high}
            for p, kind, t in chosen]  # fmt: skip
    return _save(fig, out, "refusal_by_type", "Refusal per prompt type", rows)


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


def plots(run: Run, points: Sequence[Point], out: Path) -> list[Plot]:
    """The family's plots of a run: refusal per type, the safe/unsafe map, CRaFT's certainty."""
    made = []
    if (by_type := plot_refusal_by_type(points, out)) is not None:
        made.append(by_type)
    pairs = []
    for name in run.tasks:
        mine = {p.metric: p for p in points if p.task == name}
        axes = refusal_axes(list(mine))
        if axes and not any(math.isnan(mine[a].value) for a in axes):
            pairs.append((name, mine[axes[0]], mine[axes[1]]))
    if pairs:
        made.append(plot_refusal_scatter(pairs, out))
    return made + certainty_plots(run, out)
