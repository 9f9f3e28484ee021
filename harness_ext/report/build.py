"""``harness-ext report RUN_DIR --out DIR``: one run as HTML, PNG plots and their data files.

``index.html`` has the run's settings, every metric of every task with its 95% bootstrap interval
(recomputed from the per-sample records), one bar chart per metric group
(:class:`~harness_ext.metrics.core.Group`), and the plots and tables of each family's hooks
(:class:`~harness_ext.family.Family`).
``conversations_<task>.html`` shows each document's conversation turn by turn with its record.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from harness_ext.family import Family, TableRows
from harness_ext.metrics.core import Group, estimate
from harness_ext.registry import RegistryError, family_for
from harness_ext.report import plots
from harness_ext.report.templating import render
from harness_ext.runs import Run, TaskRun, load_model_runs

BOOTSTRAP_ITERS = 1000


def task_points(task: TaskRun) -> list[plots.Point]:
    """Every metric of the task with its bootstrap interval."""
    out = []
    for m in task.metrics:
        iv = estimate(m, task.records, iters=BOOTSTRAP_ITERS)
        out.append(plots.Point(task.name, m.name, iv.value, iv.low, iv.high, m.group))
    return out


def run_families(run: Run) -> list[Family]:
    """The families of the run's tasks, in task order (a task of no installed family is skipped)."""
    found: dict[str, Family] = {}
    for name, task in run.tasks.items():
        try:
            fam = family_for(name, task.config)
        except RegistryError:
            continue
        found.setdefault(fam.name, fam)
    return list(found.values())


def make_plots(run: Run, points: list[plots.Point], out: Path) -> list[plots.Plot]:
    """One bar chart per metric group, then every family's own plots."""
    made = []
    groups: dict[str, Group] = {}
    for p in points:
        if p.group is not None:
            groups.setdefault(p.group.name, p.group)
    for g in groups.values():
        chosen = [p for p in points if p.group == g and not math.isnan(p.value)]
        if chosen:
            made.append(plots.plot_bars(chosen, out, g.name, g.title, g.axis))
    for fam in run_families(run):
        made += fam.plots(run, points, out)
    return made


def make_tables(run: Run, out: Path) -> list[TableRows]:
    """Every family's own tables, their rows also written as CSV and JSON."""
    made = []
    for fam in run_families(run):
        for table in fam.tables(run):
            plots._write_data(out, table.stem, table.rows)
            made.append(table)
    return made


def _flags(record: dict[str, Any]) -> str:
    """The record's non-zero numeric columns and string fields, for a one-line summary."""
    parts = []
    for k, v in record.items():
        if k == "cluster":
            continue
        if isinstance(v, str) and v:
            parts.append(f"{k}={v}")
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and v and k != "n":
            parts.append(k if v == 1 else f"{k}={v:g}")
    return " ".join(parts)


def conversations_page(run: Run, task: TaskRun, max_examples: int) -> str:
    shown = task.samples[:max_examples]
    items = [
        {"key": s.key, "flags": _flags(s.record), "record": s.record, "turns": s.transcript} for s in shown
    ]
    return render(
        "conversations.html.j2", task=task.name, model=run.model_name, items=items, total=len(task.samples)
    )


def build_report(run_dir: str | Path, out: Path, max_examples: int = 1000) -> Path:
    """Write the report of ``run_dir`` (one run, or one model's runs, one per folder) into ``out``.

    Returns the path of ``index.html``.
    """
    run = load_model_runs(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    points = [p for t in run.tasks.values() for p in task_points(t)]
    made = make_plots(run, points, out)
    directions = {(t.name, m.name): m.higher_is_better for t in run.tasks.values() for m in t.metrics}
    tasks = []
    for name, task in run.tasks.items():
        page = f"conversations_{name}.html"
        (out / page).write_text(conversations_page(run, task, max_examples), encoding="utf-8")
        rows = [
            {**vars(p), "arrow": "↑" if directions[(name, p.metric)] else "↓"}
            for p in points
            if p.task == name
        ]
        tasks.append(
            {"name": name, "page": page, "n": len(task.samples), "rows": rows, "prov": task.provenance}
        )
    index = out / "index.html"
    settings = {
        "model": run.model_name,
        "model_args": run.config.get("model_args"),
        "results file": str(run.path),
        "lm-eval": run.results.get("lm_eval_version"),
        "limit": run.config.get("limit"),
        "gen_kwargs": run.config.get("gen_kwargs"),
        "chat template sha": run.results.get("chat_template_sha"),
    }
    index.write_text(
        render(
            "report.html.j2",
            settings=settings,
            tasks=tasks,
            plots=made,
            skipped=run.skipped,
            tables=make_tables(run, out),
        ),
        encoding="utf-8",
    )
    return index
