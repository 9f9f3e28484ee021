"""Generic plot pieces (matplotlib, Agg backend): points, bar charts, and their PNG + CSV + JSON files.

The report draws one bar chart per :class:`~harness_ext.metrics.core.Group` its metrics declare;
everything a family draws beyond that is the family's ``plots`` hook (:mod:`harness_ext.family`),
built from the pieces here.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness_ext.metrics.core import Group, PairedChange


class _Pyplot:
    """``matplotlib.pyplot`` (Agg backend), imported on first use: commands that load and compare
    runs start without it (about 0.5 s)."""

    def __getattr__(self, name: str) -> Any:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot

        return getattr(matplotlib.pyplot, name)


plt: Any = _Pyplot()


@dataclass(frozen=True)
class Point:
    """One metric of one task with its interval."""

    task: str
    metric: str
    value: float
    low: float
    high: float
    group: Group | None = None


@dataclass(frozen=True)
class Plot:
    """A written plot: its title, PNG and the data files next to it."""

    title: str
    png: str
    csv: str
    json: str


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
    rows = [{k: v for k, v in vars(p).items() if k != "group"} for p in points]
    return _save(fig, out, stem, title, rows)


# --------------------------------------------------------------------------- change tables
def samples_of(task: Any) -> dict[str, dict[str, Any]]:
    """A task's records by document key (for :func:`harness_ext.metrics.core.paired_change`)."""
    return {s.key: s.record for s in task.samples}


def change_row(condition: str, metric: str, compared: str, pc: PairedChange) -> dict[str, Any]:
    """One row of a change-from-baseline table (the report's columns)."""
    return {"condition": condition, "metric": metric, "compared": compared, "q": pc.before,
            "condition_value": pc.after, "change": pc.change.value, "low": pc.change.low,
            "high": pc.change.high, "n_paired": pc.n_paired}  # fmt: skip
