"""Family plots chosen by metric names: BBQ bias scores (Parrish et al. 2022, section 5), refusal per type.

- per category and condition: two panels (ambiguous s_AMB, disambiguated s_DIS), one row per
  category (plus "overall"), one bar per task (condition), 95% intervals;
- per review round: s_AMB and s_DIS against the round, with 95% interval bands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from harness_ext.report.plots import Plot, Point, _err, _save, plt

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
