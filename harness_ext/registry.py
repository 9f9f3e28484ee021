"""The table of task families: every package under ``harness_ext/families/`` with a ``FAMILY``.

``compare``, ``submit``, ``validate`` and ``report`` recompute metrics from the per-sample records
of a saved run, so they need each task's :class:`~harness_ext.metrics.core.Metric` objects. The
family of a task is the one its results recorded (``metadata.provenance.family``); results
written before that was recorded: the family with the longest matching task-name prefix. The
family's ``metrics`` function then reads only what the task recorded (params and provenance):
no task class, no lm-eval, no data files.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from harness_ext.family import Family
from harness_ext.metrics.core import Metric

FAMILIES_PACKAGE = "harness_ext.families"


class RegistryError(LookupError):
    """No family, or no metric definitions, for a task."""


@functools.lru_cache(maxsize=1)
def families() -> dict[str, Family]:
    """Every family by name, in package order (each package's ``FAMILY``)."""
    pkg = importlib.import_module(FAMILIES_PACKAGE)
    found: dict[str, Family] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        fam = getattr(importlib.import_module(f"{FAMILIES_PACKAGE}.{info.name}"), "FAMILY", None)
        if isinstance(fam, Family):
            found[fam.name] = fam
    return found


def by_prefix(task_name: str) -> Family | None:
    """The family whose longest task-name prefix ``task_name`` starts with, or None."""
    hits = [(len(p), f) for f in families().values() for p in f.task_prefixes if task_name.startswith(p)]
    return max(hits, key=lambda h: h[0])[1] if hits else None


def family_for(task_name: str, config: Mapping[str, Any] | None = None) -> Family:
    """The family of a task: the one its provenance records, else by task-name prefix."""
    meta = (config or {}).get("metadata") or {}
    prov = meta.get("provenance") if isinstance(meta, Mapping) else None
    name = prov.get("family") if isinstance(prov, Mapping) else None
    if isinstance(name, str):
        if name not in families():
            raise RegistryError(
                f"task {task_name!r}: family {name!r} is not installed (known: {', '.join(families())})"
            )
        return families()[name]
    fam = by_prefix(task_name)
    if fam is None:
        raise RegistryError(f"task {task_name!r}: no metric definitions found (not a harness-ext task?)")
    return fam


def family_of(task_name: str) -> str:
    """The family name of a task (by prefix), else the task name's first two words."""
    fam = by_prefix(task_name)
    return fam.name if fam else "_".join(task_name.split("_")[:2])


def metrics_for_task(task_name: str, config: Mapping[str, Any]) -> tuple[Metric, ...]:
    """The metrics of ``task_name`` as configured in a results file (see the module docstring)."""
    fam = family_for(task_name, config)
    try:
        return fam.task_metrics(task_name, config)
    except (KeyError, ValueError) as e:
        raise RegistryError(f"task {task_name!r}: {e}") from None


def leaderboard_tasks() -> tuple[str, ...]:
    """The lm-eval task or group names on the leaderboard, family by family."""
    return tuple(
        t for f in families().values() for t in (f.task_prefixes if f.leaderboard is None else f.leaderboard)
    )


def metric_lookup(task_name: str, config: Mapping[str, Any], metric: str) -> Metric | None:
    """One metric of a task by name, or None."""
    return next((m for m in metrics_for_task(task_name, config) if m.name == metric), None)
