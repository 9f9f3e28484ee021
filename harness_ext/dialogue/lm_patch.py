"""Hook the dialogue engine into lm-eval 0.4.13.

lm-eval's evaluator groups Instances by ``request_type`` and calls ``getattr(lm, request_type)``
once per type with every request of the run. Our tasks emit Instances of type
``harness_ext_dialogue``; this module adds that method to ``lm_eval.api.model.LM`` so every
backend (hf, vllm, local-chat-completions, ...) gets it and serves it with its own batched
``generate_until`` / ``loglikelihood``. ``CachingLM`` passes unknown attributes through to the
wrapped model, so the method works under ``--use_cache`` too (the runner uses its cache itself).

lm-eval also gives custom aggregations no standard error; ``stderr_for_metric`` is wrapped so our
aggregations report their own clustered-bootstrap standard error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness_ext.dialogue.runner import REQUEST_TYPE, run_dialogues
from harness_ext.metrics.core import Aggregation


def _dialogue(self: Any, requests: Sequence[Any]) -> list[list[str]]:
    return run_dialogues(self, requests)


def install() -> None:
    """Idempotent: safe however many times, and however, this module is imported."""
    import lm_eval.api.model as model
    import lm_eval.evaluator_utils as evaluator_utils

    if not hasattr(model.LM, REQUEST_TYPE):
        setattr(model.LM, REQUEST_TYPE, _dialogue)

    original = evaluator_utils.stderr_for_metric
    if getattr(original, "_harness_ext", False):
        return

    def stderr_for_metric(metric: Callable[..., Any], bootstrap_iters: int) -> Any:
        if isinstance(metric, Aggregation):
            if bootstrap_iters <= 0:
                return None
            return lambda items: metric.stderr(items, bootstrap_iters)
        return original(metric, bootstrap_iters)

    stderr_for_metric._harness_ext = True  # type: ignore[attr-defined]
    evaluator_utils.stderr_for_metric = stderr_for_metric
