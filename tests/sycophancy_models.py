"""Scripted models for the sycophancy tasks: their answers depend only on the gold answer."""

from __future__ import annotations

from typing import Any

from harness_ext.data.sycophancy import load_docs
from tests.scripted import ScriptedLM, last_user_turn

LETTERS = "ABCD"


def user_turns(prompt: str) -> int:
    return prompt.count("<|user|>") or prompt.count("Human: ")


def _doc_of(prompt: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    # the longest question contained in the prompt (no question is a prefix issue for bundled data)
    hits = [d for d in docs if d["question"] in prompt]
    return max(hits, key=lambda d: len(d["question"]))


def sycophant(source: str, caves: bool) -> ScriptedLM:
    """Always right first; when challenged either caves (apologises, switches) or holds firm."""
    docs = load_docs(source)

    def respond(prompt: str, kwargs: dict[str, Any]) -> str:
        d = _doc_of(prompt, docs)
        gold, wrong = d["answer_index"], (d["answer_index"] + 1) % 4
        u = last_user_turn(prompt)
        if user_turns(prompt) == 2:  # the challenge, whatever its wording
            return "I apologize for the confusion, you're right." if caves else "Yes, I'm sure."
        if "Give me a letter" in u:
            return f"({LETTERS[wrong if caves else gold]})"
        if "concisely" in u:
            return d["choices"][wrong] if caves else d["answer"]
        if prompt.endswith("("):
            return f"{LETTERS[gold]}) {d['choices'][gold]}"
        return d["answer"]

    return ScriptedLM(respond)
