"""The lm-eval internals harness-ext relies on, checked by name (pinned: ``lm-eval~=0.4.13``).

If lm-eval changes one of these, this test fails with the internal's name, before any task or
metric silently misbehaves. The hooks: :mod:`harness_ext.dialogue.request_hook` (the
``harness_ext_dialogue`` request type on ``LM``) and :mod:`harness_ext.dialogue.stderr_hook` (the
standard error of our aggregations); the task adapter :mod:`harness_ext.dialogue.task` relies on
``ConfigurableTask``'s call order.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from packaging.version import Version

import harness_ext.dialogue.task  # noqa: F401  (installs both hooks)
from harness_ext.dialogue import request_hook, stderr_hook
from harness_ext.dialogue.runner import REQUEST_TYPE


def _source(obj: Any) -> str:
    """Source text of an lm-eval function; empty (so the check fails by name) when unavailable."""
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return ""


def _requires(cond: bool, internal: str, why: str) -> None:
    if not cond:
        pytest.fail(
            f"lm-eval {importlib.metadata.version('lm_eval')}: internal {internal} changed; harness-ext "
            f"relies on it: {why}",
            pytrace=False,
        )


def test_version_is_the_pinned_minor() -> None:
    v = Version(importlib.metadata.version("lm_eval"))
    _requires(
        v.release[:2] == (0, 4) and v >= Version("0.4.13"),
        "version",
        "the hooks are written against lm-eval 0.4.13 (pyproject pins ~=0.4.13)",
    )


def test_request_type_dispatch() -> None:
    from lm_eval import evaluator
    from lm_eval.api import instance, model

    src = _source(evaluator.evaluate)
    _requires(
        "requests[reqtype].append(instance)" in src and "instance.request_type" in src,
        "lm_eval.evaluator.evaluate (grouping by Instance.request_type)",
        "request_hook: dialogue Instances are grouped under their own request type",
    )
    _requires(
        "getattr(lm, reqtype)(cloned_reqs)" in src,
        "lm_eval.evaluator.evaluate (getattr(lm, reqtype)(cloned_reqs))",
        "request_hook: the model method named by the request type is called with every request",
    )
    fields = {f.name for f in dataclasses.fields(instance.Instance)}
    _requires(
        {"request_type", "doc", "arguments", "idx", "metadata", "resps"} <= fields,
        "lm_eval.api.instance.Instance fields",
        "DialogueTask.construct_requests builds Instance(request_type, doc, arguments, idx, metadata)",
    )
    _requires(inspect.isclass(model.LM), "lm_eval.api.model.LM", "request_hook sets a method on it")
    _requires(request_hook.installed(), "lm_eval.api.model.LM", "request_hook.install() did not take")
    getattr_src = _source(model.CachingLM.__getattr__)
    _requires(
        "getattr(self.lm, attr)" in getattr_src,
        "lm_eval.api.model.CachingLM.__getattr__",
        "under --use_cache the dialogue method is passed through to the wrapped model",
    )


def test_stderr_hook_target() -> None:
    from lm_eval import evaluator_utils
    from lm_eval.api import metrics

    params = list(inspect.signature(metrics.stderr_for_metric).parameters)
    _requires(
        params == ["metric", "bootstrap_iters"],
        "lm_eval.api.metrics.stderr_for_metric(metric, bootstrap_iters)",
        "stderr_hook wraps it with the same parameters",
    )
    src = _source(evaluator_utils._compute_task_aggregations)
    _requires(
        "stderr_for_metric(" in src and "metric=agg_fn" in src and "bootstrap_iters=" in src,
        "lm_eval.evaluator_utils._compute_task_aggregations (calls stderr_for_metric by module name)",
        "stderr_hook replaces lm_eval.evaluator_utils.stderr_for_metric, the name this call looks up",
    )
    _requires(
        stderr_hook.installed(),
        "lm_eval.evaluator_utils.stderr_for_metric",
        "stderr_hook.install() did not take",
    )
    hooked: Callable[..., Any] = evaluator_utils.stderr_for_metric
    _requires(
        list(inspect.signature(hooked).parameters) == params,
        "lm_eval.evaluator_utils.stderr_for_metric",
        "the hooked function keeps lm-eval's parameter names (it is called with keywords)",
    )


def test_hooks_install_once() -> None:
    from lm_eval import evaluator_utils
    from lm_eval.api import model

    before = (evaluator_utils.stderr_for_metric, getattr(model.LM, REQUEST_TYPE))
    request_hook.install()
    stderr_hook.install()
    after = (evaluator_utils.stderr_for_metric, getattr(model.LM, REQUEST_TYPE))
    assert after == before  # not wrapped twice


def test_task_adapter_call_order() -> None:
    from lm_eval import evaluator, evaluator_utils
    from lm_eval.api.task import ConfigurableTask, Task

    init = _source(ConfigurableTask.__init__)
    _requires(
        "self.fewshot_docs()" in init and 'hasattr(self, "sampler")' in _source(Task.set_fewshot_seed),
        "lm_eval.api.task.ConfigurableTask.__init__ (few-shot pool from self.fewshot_docs())",
        "DialogueTask.fewshot_docs returns None so no copy of the test split is made per task",
    )
    _requires(
        "self.config.custom_dataset(" in _source(ConfigurableTask.download)
        and "self.config.metadata" in _source(ConfigurableTask.download),
        "lm_eval.api.task.ConfigurableTask.download (custom_dataset(**metadata))",
        "each family's load_dataset receives --metadata",
    )
    sig = inspect.signature(Task.build_all_requests).parameters
    _requires(
        {"limit", "samples", "system_instruction", "apply_chat_template"} <= set(sig),
        "lm_eval.api.task.Task.build_all_requests(limit=, samples=, ...)",
        "DialogueTask.build_all_requests reorders the documents for the stratified --limit sample",
    )
    build = _source(Task.build_all_requests)
    _requires(
        "system_instruction=system_instruction" in build and "metadata=(" in build,
        "lm_eval.api.task.Task.build_all_requests (fewshot_context(system_instruction=), "
        "construct_requests(metadata=))",
        "the system instruction reaches the script only through fewshot_context",
    )
    _requires(
        isinstance(inspect.getattr_static(Task, "eval_docs"), property),
        "lm_eval.api.task.Task.eval_docs (a property)",
        "DialogueTask.eval_docs serves the reordered documents",
    )
    ev = _source(evaluator.evaluate)
    _requires(
        "task.process_results(" in ev and ev.index("task.process_results(") < ev.index("_process_results("),
        "lm_eval.evaluator.evaluate (process_results before _process_results)",
        "provenance hashes updated while scoring are in the config lm-eval dumps afterwards",
    )
    _requires(
        "task.dump_config()" in _source(evaluator_utils._collect_results),
        "lm_eval.evaluator_utils._collect_results (task.dump_config())",
        "the results' configs (and provenance) are dumped after aggregation",
    )


def test_hf_stop_criteria_are_built_from_the_module_function() -> None:
    """stages.row_stops swaps ``stop_sequences_criteria`` in the ``hf`` backend's module for a
    per-row criterion with the same arguments, so ``_model_generate`` must look it up there."""
    hf = pytest.importorskip("lm_eval.models.huggingface")
    params = list(inspect.signature(hf.stop_sequences_criteria).parameters)
    _requires(
        params == ["tokenizer", "stop_sequences", "initial_decoder_input_length", "batch_size"],
        "lm_eval.models.huggingface.stop_sequences_criteria (arguments)",
        "dialogue/stages.row_stops replaces it with a criterion taking the same arguments",
    )
    _requires(
        "stop_sequences_criteria(" in _source(hf.HFLM._model_generate),
        "lm_eval.models.huggingface.HFLM._model_generate (builds its stopping criteria)",
        "dialogue/stages.row_stops: per-row stop strings during the engine's calls",
    )
