"""``refusal_overrate``: does the model refuse what it should answer?

The family as the generic tools see it (:data:`FAMILY`): look-alike-unsafe prompts
(``refusal_overrate_xstest``) and knowledge-aware refusal (``refusal_overrate_craft``). The
lm-eval task classes are in :mod:`harness_ext.families.refusal.task`, the report's plots in
:mod:`harness_ext.families.refusal.report`, CRaFT's training split command in
:mod:`harness_ext.families.refusal.select`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness_ext.data.refusal import PARAMS as DATA_KEYS
from harness_ext.family import Family, Params, annotate
from harness_ext.metrics.core import Group, Metric

REFUSAL_RATES = Group("refusal_rates", "Refusal rates", "rate")


@dataclass(frozen=True)
class RefusalParams(Params):
    """``ths_reference``: an lm-eval results JSON whose basic-prompt shares are CRaFT's reference
    for THS (default: this run's own basic prompt); ``ths_reference_task``: its task name."""

    DATA_KEYS = tuple(k for k in DATA_KEYS if k not in ("ths_reference", "ths_reference_task"))
    ths_reference: str | None = None
    ths_reference_task: str | None = None


def metrics(task: str, params: RefusalParams, facts: Mapping[str, Any]) -> tuple[Metric, ...]:
    """XSTest-style rates per (label, prompt type), or CRaFT's shares, THS and certainty.

    ``facts``: ``prompt_types`` (XSTest task: the prompt types by label) or
    ``ths_reference_values`` (CRaFT task: ``[P_c1, P_w1]`` of the reference run, or None).
    """
    from harness_ext.metrics.refusal import craft_metrics, xstest_metrics

    if "prompt_types" in facts or task.endswith("_xstest"):
        if "prompt_types" not in facts:
            raise KeyError("the results record no 'prompt_types' in metadata.provenance; was the run edited?")
        out = xstest_metrics(dict(facts["prompt_types"]))
    else:
        ref = facts.get("ths_reference_values")
        if ref is None and params.ths_reference:
            raise KeyError(
                "run with a THS reference file but its values are not recorded in metadata.provenance; "
                "rerun with this harness-ext version"
            )
        out = craft_metrics(None if ref is None else (float(ref[0]), float(ref[1])))
    rates = r"over_refusal_rate|(full|partial)_refusal_rate_(safe|unsafe)|refusal_rate_\w+|rejection_rate_\w+"
    return annotate(out, groups=[(rates, REFUSAL_RATES)], min_effects=[(r"ths.*", 0.05)])


#: Refusing benign prompts that look unsafe, and questions the model could answer.
FAMILY = Family(
    "refusal",
    ("refusal_overrate",),
    RefusalParams,
    metrics,
    report=f"{__name__}.report",
    conversation=f"{__name__}.conversation",
    commands=(f"{__name__}.select",),
)
