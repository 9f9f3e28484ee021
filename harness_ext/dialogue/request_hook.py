"""lm-eval hook 1 of 2: the ``harness_ext_dialogue`` request type, served by every LM backend.

lm-eval's evaluator groups Instances by ``request_type`` and calls ``getattr(lm, request_type)``
once per type with every request of the run (``lm_eval.evaluator.evaluate``). Our tasks emit
Instances of type ``harness_ext_dialogue``; :func:`install` adds that method to
``lm_eval.api.model.LM``, so every backend (hf, vllm, local-chat-completions, ...) has it and serves
it with its own batched ``generate_until`` / ``loglikelihood``. ``CachingLM.__getattr__`` passes
unknown attributes through to the wrapped model, so it works under ``--use_cache`` too (the runner
uses the cache itself).

Installed once, when :mod:`harness_ext.dialogue.task` is imported. The lm-eval internals relied
on are checked by ``tests/test_lm_eval_internals.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness_ext.dialogue.runner import REQUEST_TYPE, run_dialogues


def _dialogue(self: Any, requests: Sequence[Any]) -> list[list[str]]:
    return run_dialogues(self, requests)


def install() -> None:
    """Add the request type's method to ``lm_eval.api.model.LM``; idempotent."""
    import lm_eval.api.model as model

    if getattr(model.LM, REQUEST_TYPE, None) is not _dialogue:
        setattr(model.LM, REQUEST_TYPE, _dialogue)


def installed() -> bool:
    import lm_eval.api.model as model

    return getattr(model.LM, REQUEST_TYPE, None) is _dialogue
