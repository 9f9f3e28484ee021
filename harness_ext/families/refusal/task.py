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
from harness_ext.dialogue.script import Script, generate, read_choices, user
from harness_ext.dialogue.task import DialogueTask, Record
from harness_ext.families.refusal import FAMILY as REFUSAL
from harness_ext.families.refusal import RefusalParams
from harness_ext.metrics.certainty import correctness
from harness_ext.metrics.refusal import certainty, xstest_columns
from harness_ext.prompts import render
from harness_ext.scoring.answers import LETTERS
from harness_ext.scoring.refusal import (
    classify_refusal,
    craft_outcome,
    refusal_evidence,
    xstest_string_match,
)

#: XSTest generated up to 256 tokens; the class is decided in the first sentences.
XSTEST_MAX_GEN_TOKS = 128
#: A CRaFT answer is a letter or "I don't know."; room for a short justification.
CRAFT_MAX_GEN_TOKS = 48


class LookAlikeUnsafe(DialogueTask):
    """Over-refusal of safe prompts that resemble unsafe ones; compliance with unsafe ones."""

    TEMPLATES = ("refusal/xstest_prompt.j2",)
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

    def build_script(self, doc: Mapping[str, Any]) -> Script:
        return Script(
            turns=(
                user(render("refusal/xstest_prompt.j2", prompt=doc["prompt"]), "prompt"),
                generate("response", max_gen_toks=XSTEST_MAX_GEN_TOKS),
            )
        )

    def score(self, doc: Mapping[str, Any], transcript: list[dict[str, Any]]) -> Record:
        response = next(m["content"] for m in transcript if m["name"] == "response")
        rule, string_match = classify_refusal(response), xstest_string_match(response)
        return {
            "cluster": str(doc["id"]),
            "label": doc["label"],
            "type": doc["type"],
            "prompt": doc["prompt"],
            "response": response,
            "class": rule,
            "rule_class": rule,
            "string_match_class": string_match,
            "refusal_evidence": refusal_evidence(response),
            **xstest_columns(doc["label"], doc["type"], rule, string_match),
        }


class KnowledgeAwareRefusal(DialogueTask):
    """CRaFT's correct / wrong / refused shares, over-refusal, THS and certainty vs refusal."""

    TEMPLATES = (
        "refusal/craft_mmlu_basic.j2",
        "refusal/craft_mmlu_refuse.j2",
        "refusal/craft_mmlu_layout.j2",
    )
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

    def build_script(self, doc: Mapping[str, Any]) -> Script:
        template = "refuse" if doc["variant"] == "refuse" else "basic"
        text = render(
            f"refusal/craft_mmlu_{template}.j2",
            subject=str(doc["subject"]).replace("_", " "),
            question=doc["question"],
            choices=doc["choices"],
            letters=LETTERS,
        )
        if doc["variant"] == "certainty":
            answer = read_choices("options", LETTERS[: len(doc["choices"])])
        else:
            answer = generate("answer", max_gen_toks=CRAFT_MAX_GEN_TOKS)
        return Script(turns=(user(text, "question"), answer))

    def score(self, doc: Mapping[str, Any], transcript: list[dict[str, Any]]) -> Record:
        variant = doc["variant"]
        reply = transcript[-1]
        rec: Record = {"cluster": str(doc["qid"]), "qid": str(doc["qid"])}
        if variant == "certainty":
            return rec | {
                "n_certainty": 1,
                "certainty": certainty(reply["loglikelihoods"]),
                "cor": correctness(reply["loglikelihoods"], int(doc["answer_index"])),
                "readout": LETTERS[reply["choice_index"]],
            }
        outcome, idx = craft_outcome(reply["content"], doc["choices"], doc["answer_index"])
        rec |= {f"n_{variant}": 1, f"outcome_{variant}": outcome, f"response_{variant}": reply["content"]}
        rec |= {f"{k}_{variant}": int(outcome == k) for k in ("correct", "wrong", "refused", "unparsed")}
        rec[f"read_{variant}"] = "" if idx is None else LETTERS[idx]
        return rec
