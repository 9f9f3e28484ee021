"""lm-eval hook 2 of 2: the standard error of our aggregations.

lm-eval gives a custom aggregation function no standard error: ``stderr_for_metric`` (imported
by name into ``lm_eval.evaluator_utils`` and called there by ``_compute_task_aggregations``) knows
only its own metrics. :func:`install` wraps that name so a
:class:`harness_ext.metrics.core.Aggregation` reports its own clustered-bootstrap standard error
(none with ``--bootstrap_iters 0``); every other metric goes to lm-eval's function unchanged.

Installed once, when :mod:`harness_ext.dialogue.task` is imported. The lm-eval internals relied
on are checked by ``tests/test_lm_eval_internals.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness_ext.metrics.core import Aggregation

_MARK = "_harness_ext"


def install() -> None:
    """Wrap ``lm_eval.evaluator_utils.stderr_for_metric``; idempotent."""
    import lm_eval.evaluator_utils as evaluator_utils

    original = evaluator_utils.stderr_for_metric
    if getattr(original, _MARK, False):
        return

    def stderr_for_metric(metric: Callable[..., Any], bootstrap_iters: int) -> Any:
        if isinstance(metric, Aggregation):
            if bootstrap_iters <= 0:
                return None
            return lambda items: metric.stderr(items, bootstrap_iters)
        return original(metric, bootstrap_iters)

    setattr(stderr_for_metric, _MARK, True)
    evaluator_utils.stderr_for_metric = stderr_for_metric


def installed() -> bool:
    import lm_eval.evaluator_utils as evaluator_utils

    return bool(getattr(evaluator_utils.stderr_for_metric, _MARK, False))
