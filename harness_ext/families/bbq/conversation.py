"""The ``bbq_selfcorrect`` conversation and its scoring, as pure functions of a document.

``build_script(doc, params, condition)`` and ``score(doc, transcript, params, condition)``;
:class:`Condition` is what distinguishes the tasks (instruction, chain of thought, review rounds).
No lm-eval here: the task adapter is :mod:`harness_ext.families.bbq.task`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness_ext.data.bbq import category_slug
from harness_ext.dialogue.script import Script, Turn, generate, read_choices, user
from harness_ext.families.bbq import BBQParams
from harness_ext.families.bbq.answers import LETTERS, read_answer
from harness_ext.metrics.bbq import CATEGORY_COLUMNS, answer_columns, suffixed
from harness_ext.prompts import render

Record = dict[str, Any]
#: Per-turn generation caps (a CLI ``--gen_kwargs max_gen_toks=N`` overrides all).
TURN_MAX_GEN_TOKS = {"answer": 24, "reasoning": 256}
#: The templates the conversation renders (hashed into the results).
TEMPLATES = (
    "bbq/question.j2",
    "bbq/instruction_unbiased.j2",
    "bbq/instruction_biased.j2",
    "bbq/answer_prefix.j2",
    "bbq/cot_answer_prefix.j2",
    "bbq/cot_prefix.j2",
    "bbq/cot_followup.j2",
    "bbq/review.j2",
    "bbq/review_prefix.j2",
)


@dataclass(frozen=True)
class Condition:
    """``instruction``: a template under ``prompts/bbq/`` (None: Q); ``cot``: debiasing reasoning
    before the answer; ``review``: ``params.review_rounds`` rounds of "Review your previous answer"."""

    instruction: str | None = None
    cot: bool = False
    review: bool = False


def rounds(params: BBQParams, condition: Condition) -> int:
    """Review rounds after the first answer (0 outside the review condition)."""
    return params.review_rounds if condition.review else 0


def question(doc: Mapping[str, Any], condition: Condition) -> str:
    """Context, question, lettered options and the condition's instruction."""
    instruction = render(condition.instruction) if condition.instruction else ""
    return render(
        "bbq/question.j2",
        context=doc["context"],
        question=doc["question"],
        options=doc["options"],
        letters=LETTERS,
        instruction=instruction,
    )


def first_prefix(condition: Condition) -> str:
    """Assistant prefix of the first answer: Ganguli's after CoT, Liu's otherwise."""
    return render("bbq/cot_answer_prefix.j2" if condition.cot else "bbq/answer_prefix.j2")


def answer_turn(doc: Mapping[str, Any], params: BBQParams, name: str, prefix: str) -> Turn:
    """A generated answer, or (``readout: loglikelihood``) the options read out after ``prefix``."""
    if params.readout == "loglikelihood":
        choices = [f" ({x}) {o}" for x, o in zip(LETTERS, doc["options"], strict=True)]
        return read_choices(name, choices, prefix=prefix)
    return generate(name, prefix=prefix, max_gen_toks=TURN_MAX_GEN_TOKS["answer"])


def build_script(doc: Mapping[str, Any], params: BBQParams, condition: Condition) -> Script:
    """Question, (reasoning and follow-up,) first answer, then the review rounds."""
    turns = [user(question(doc, condition), "question")]
    if condition.cot:
        prefix = render("bbq/cot_prefix.j2")
        turns += [
            generate("reasoning", prefix, TURN_MAX_GEN_TOKS["reasoning"], reasoning=True),
            user(render("bbq/cot_followup.j2"), "followup"),
        ]
    turns.append(answer_turn(doc, params, "answer_r0", first_prefix(condition)))
    for k in range(1, rounds(params, condition) + 1):
        turns += [
            user(render("bbq/review.j2"), f"review_r{k}"),
            answer_turn(doc, params, f"answer_r{k}", render("bbq/review_prefix.j2")),
        ]
    return Script(turns=tuple(turns))


def read_turn(doc: Mapping[str, Any], turn: Mapping[str, Any], prefix: str) -> int | None:
    """The option an answer turn chose (None: unparsed)."""
    if turn["kind"] == "choices":
        return int(turn["choice_index"])
    text = str(turn["content"])
    body = text[len(prefix) :] if text.startswith(prefix) else text
    return read_answer(body, doc["options"], int(doc["unknown_index"]))


def score(
    doc: Mapping[str, Any], transcript: list[dict[str, Any]], params: BBQParams, condition: Condition
) -> Record:
    """BBQ's answer columns of the last answer, per category, and (review) per round."""
    turns = {m["name"]: m for m in transcript if m["role"] == "assistant"}
    n = rounds(params, condition)
    prefixes = [first_prefix(condition)] + [render("bbq/review_prefix.j2")] * n
    read = [read_turn(doc, turns[f"answer_r{k}"], prefixes[k]) for k in range(n + 1)]

    def columns(answer: int | None) -> dict[str, int]:
        return answer_columns(
            str(doc["context_condition"]),
            int(doc["label"]),
            [int(i) for i in doc["biased_indices"]],
            int(doc["unknown_index"]),
            answer,
        )

    final = columns(read[-1])
    final |= {"answers": len(read), "unparsed": sum(a is None for a in read)}
    slug = category_slug(str(doc["category"]))
    rec: Record = {"cluster": str(doc["template_id"]), **final}
    # Suffixed columns keep only nonzero counts (a missing column totals 0): lm-eval logs the
    # record once per metric, so its size matters.
    rec |= {k: v for k, v in suffixed({c: final[c] for c in CATEGORY_COLUMNS}, category=slug).items() if v}
    if condition.review:
        for k, a in enumerate(read):
            rec |= {c: v for c, v in suffixed(columns(a), round=k).items() if v}
    rec["read"] = ",".join("-" if a is None else LETTERS[a] for a in read)
    return rec
