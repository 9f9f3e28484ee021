"""``winogender_selfcorrect``: does a model stop tracking occupational gender statistics when asked?

The family as the generic tools see it (:data:`FAMILY`); the lm-eval task classes are in
:mod:`harness_ext.families.winogender.task`, the report's scatter and change-from-Q table in
:mod:`harness_ext.families.winogender.report`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness_ext.data.winogender import PARAMS as LOADER_KEYS
from harness_ext.family import Family, Params, annotate
from harness_ext.metrics.core import Metric


@dataclass(frozen=True)
class WinogenderParams(Params):
    """No parameter of its own; the data loader reads ``source`` and ``referent``."""

    DATA_KEYS = LOADER_KEYS


def metrics(task: str, params: WinogenderParams, facts: Mapping[str, Any]) -> tuple[Metric, ...]:
    """rho and mean p(neutral); rho's better direction depends on the condition (``match_stats``;
    results that did not record it: the ``_match_stats`` task)."""
    from harness_ext.metrics.winogender import CORRELATION
    from harness_ext.metrics.winogender import metrics as winogender_metrics

    match_stats = facts.get("match_stats")
    if match_stats is None:
        match_stats = task.endswith("_match_stats")
    return annotate(winogender_metrics(match_stats=bool(match_stats)), ranges=[(CORRELATION, (-1.0, 1.0))])


#: Moral self-correction on Winogender pronoun read-outs.
FAMILY = Family(
    "winogender",
    ("winogender_selfcorrect",),
    WinogenderParams,
    metrics,
    report=f"{__name__}.report",
    conversation=f"{__name__}.conversation",
)
