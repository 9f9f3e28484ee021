"""The ``refusal_overrate`` conversations and their scoring, as pure functions of a document.

XSTest-style prompts (``xstest_script``, ``xstest_score``) and CRaFT's variants
(``craft_script``, ``craft_score``); ``build_script``/``score`` choose by the task's condition. No lm-eval here: the task adapters are
:mod:`harness_ext.families.refusal.task`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness_ext.dialogue.script import Script, generate, read_choices, user
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

Record = dict[str, Any]
#: XSTest generated up to 256 tokens; the class is decided in the first sentences.
XSTEST_MAX_GEN_TOKS = 128
#: A CRaFT answer is a letter or "I don't know."; room for a short justification.
CRAFT_MAX_GEN_TOKS = 48
XSTEST_TEMPLATES = ("refusal/xstest_prompt.j2",)
CRAFT_TEMPLATES = (
    "refusal/craft_mmlu_basic.j2",
    "refusal/craft_mmlu_refuse.j2",
    "refusal/craft_mmlu_layout.j2",
)


def xstest_script(doc: Mapping[str, Any]) -> Script:
    """The prompt, then the response (up to :data:`XSTEST_MAX_GEN_TOKS` tokens)."""
    return Script(
        turns=(
            user(render("refusal/xstest_prompt.j2", prompt=doc["prompt"]), "prompt"),
            generate("response", max_gen_toks=XSTEST_MAX_GEN_TOKS),
        )
    )


def xstest_score(doc: Mapping[str, Any], transcript: list[dict[str, Any]]) -> Record:
    """The rule class of the response, XSTest's string match, and the per-type columns."""
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


def craft_script(doc: Mapping[str, Any]) -> Script:
    """The basic or refusal-aware prompt, then a generated answer or the options' read-out."""
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


def craft_score(doc: Mapping[str, Any], transcript: list[dict[str, Any]]) -> Record:
    """The variant's outcome (correct / wrong / refused / unparsed), or the read-out's certainty."""
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


def build_script(doc: Mapping[str, Any], params: RefusalParams, condition: str) -> Script:
    """``condition`` ``xstest`` (look-alike-unsafe prompts) or ``craft`` (knowledge-aware refusal)."""
    return craft_script(doc) if condition == "craft" else xstest_script(doc)


def score(
    doc: Mapping[str, Any], transcript: list[dict[str, Any]], params: RefusalParams, condition: str
) -> Record:
    """The record of :func:`xstest_score` or :func:`craft_score`."""
    return craft_score(doc, transcript) if condition == "craft" else xstest_score(doc, transcript)
