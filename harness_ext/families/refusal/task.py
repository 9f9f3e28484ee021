"""``refusal_overrate``: does the model refuse what it should answer?

Two tasks on the one dialogue engine:

- :class:`LookAlikeUnsafe` (``refusal_overrate_xstest``): single-turn prompts that look unsafe
  but are safe (XSTest, Röttger et al. 2024; OR-Bench, Cui et al. 2024) and unsafe contrast
  prompts. Each response is classified as full compliance, full refusal or partial refusal by
  :func:`harness_ext.scoring.refusal.classify_refusal`. An LLM judge re-scores a saved run
  afterwards, outside lm-eval's aggregation: ``harness-ext judge`` (:mod:`harness_ext.judging`).
- :class:`KnowledgeAwareRefusal` (``refusal_overrate_craft``): CRaFT (Zhu et al., arXiv
  2410.06913). Every multiple-choice question is three independent single-turn conversations,
  three documents sharing ``qid``: the basic prompt (answer generated), the refusal-aware
  prompt (answer generated), and the basic prompt with the option log-likelihoods read out
  (certainty). One task rather than two paired subtasks, because the over-refusal rate, THS
  against the run's own basic prompt and certainty against refusal all need the variants of a
  question together: the aggregation pairs them per question (:func:`pair_by_question`) and the
  bootstrap resamples questions, so the intervals account for the pairing. The read-out is its
  own conversation because a ``read_choices`` turn placed after the generated answer would be
  conditioned on that answer; it is played in the same round as the generated answers, so the
  whole task is one ``generate_until`` call and one ``loglikelihood`` call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness_ext.data.refusal import read_ths_reference
from harness_ext.dialogue.task import DialogueTask
from harness_ext.families.refusal import FAMILY as REFUSAL
from harness_ext.families.refusal import RefusalParams, conversation


class LookAlikeUnsafe(DialogueTask):
    """Over-refusal of safe prompts that resemble unsafe ones; compliance with unsafe ones."""

    TEMPLATES = conversation.XSTEST_TEMPLATES
    CONDITION = "xstest"
    LIMIT_STRATA = ("type", "label")
    FAMILY = REFUSAL

    def __init__(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        meta = (config or {}).get("metadata") or {}
        if isinstance(meta, dict) and "judge_model" in meta:
            raise ValueError(
                "metadata 'judge_model' is no longer read: judge a saved run with "
                "'harness-ext judge RUN_DIR --model ... --model_args ...'"
            )
        super().__init__(config, **kwargs)

    def prompt_types(self) -> dict[str, list[str]]:
        """Prompt types present, by label."""
        pairs = set(zip(self.eval_docs["label"], self.eval_docs["type"], strict=True))
        return {label: sorted({t for lab, t in pairs if lab == label}) for label in ("safe", "unsafe")}

    def facts(self) -> dict[str, Any]:
        return {"prompt_types": self.prompt_types()}


class KnowledgeAwareRefusal(DialogueTask):
    """CRaFT's correct / wrong / refused shares, over-refusal, THS and certainty vs refusal."""

    TEMPLATES = conversation.CRAFT_TEMPLATES
    CONDITION = "craft"
    LIMIT_STRATA, LIMIT_UNIT = ("subject",), "qid"
    FAMILY = REFUSAL

    def ths_reference(self) -> tuple[float, float] | None:
        """``(P_c1, P_w1)`` from metadata ``ths_reference`` (a results JSON), or None."""
        p: RefusalParams = self.params()
        if not p.ths_reference:
            return None
        return read_ths_reference(p.ths_reference, str(p.ths_reference_task or self.config.task))

    def facts(self) -> dict[str, Any]:
        ref = self.ths_reference()
        return {"ths_reference_values": None if ref is None else list(ref)}
