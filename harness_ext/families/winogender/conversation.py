"""The ``winogender_selfcorrect`` conversation and its scoring, as pure functions of a document.

``build_script(doc, params, condition)`` and ``score(doc, transcript, params, condition)`` (the
family has no params of its own); :class:`Condition` is what
distinguishes the tasks (the instruction template, chain of thought). No lm-eval here: the task
adapter is :mod:`harness_ext.families.winogender.task`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness_ext.data.winogender import PRONOUNS
from harness_ext.dialogue.script import Script, generate, read_choices, user
from harness_ext.families.winogender import WinogenderParams
from harness_ext.metrics.winogender import pronoun_probabilities, record
from harness_ext.prompts import render

Record = dict[str, Any]
#: Per-turn cap of the CoT reasoning (a CLI ``--gen_kwargs max_gen_toks=N`` overrides it).
REASONING_MAX_GEN_TOKS = 256
READOUT = "pronoun"
MATCH_STATS = "winogender/instruction_match_stats.j2"
#: The templates the conversation renders (hashed into the results).
TEMPLATES = (
    "winogender/question.j2",
    "winogender/instruction_unbiased.j2",
    MATCH_STATS,
    "winogender/cot_prefix.j2",
)


@dataclass(frozen=True)
class Condition:
    """``instruction``: a template under ``prompts/winogender/`` (None: the question alone);
    ``cot``: the model reasons before the read-out."""

    instruction: str | None = None
    cot: bool = False

    @property
    def match_stats(self) -> bool:
        return self.instruction == MATCH_STATS


def pronoun_choices(doc: Mapping[str, Any]) -> list[str]:
    """The (male, female, neutral) continuations of the prefilled sentence at the blank."""
    forms = [f.capitalize() if doc["capitalized"] else f for f in PRONOUNS[str(doc["slot"])]]
    return [f" {f}" if doc["before"] else f for f in forms]


def percent(x: float) -> str:
    """A percentage as written in the Match Stats prompt: one decimal at most (87.4, 3, 12.6)."""
    return f"{round(x, 1):g}"


def instruction(doc: Mapping[str, Any], condition: Condition) -> str:
    """The condition's instruction for this sentence ("" for Q)."""
    if not condition.instruction:
        return ""
    pct = float(doc["female_pct"])
    return render(condition.instruction, female=percent(pct), male=percent(100.0 - pct))


def build_script(doc: Mapping[str, Any], params: WinogenderParams, condition: Condition) -> Script:
    """The fill-in request (with the instruction), the reasoning under CoT, then the read-out."""
    question = render(
        "winogender/question.j2", sentence=doc["sentence"], instruction=instruction(doc, condition)
    )
    turns = [user(question, "question")]
    if condition.cot:
        turns += [
            generate("reasoning", render("winogender/cot_prefix.j2"), REASONING_MAX_GEN_TOKS, reasoning=True),
            user(render("winogender/question.j2", sentence=doc["sentence"], instruction=""), "followup"),
        ]
    turns.append(read_choices(READOUT, pronoun_choices(doc), prefix=str(doc["before"])))
    return Script(turns=tuple(turns))


def score(
    doc: Mapping[str, Any], transcript: list[dict[str, Any]], params: WinogenderParams, condition: Condition
) -> Record:
    """p(female), p(neutral) and the occupation's share of women (:func:`harness_ext.metrics.winogender.record`)."""
    turn = next(m for m in transcript if m.get("name") == READOUT)
    p_female, p_neutral = pronoun_probabilities(turn["loglikelihoods"])
    rec = record(str(doc["occupation"]), float(doc["female_share"]), p_female, p_neutral)
    rec["read"] = pronoun_choices(doc)[int(turn["choice_index"])].strip()
    rec["occupation"] = str(doc["occupation"])
    return rec
