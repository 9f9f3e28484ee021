"""Conversation scripts: what each turn of a scripted dialogue is, as plain data.

A script is fixed before the run: user turns are already rendered text, assistant turns say how the
model's turn is produced. It travels inside the lm-eval ``Instance`` (so it must stay JSON), and
the runner plays it round by round.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any, Literal

TurnKind = Literal["user", "generate", "prefill", "choices"]


@dataclass(frozen=True)
class Turn:
    """One step of a conversation.

    - ``user``: a user message with ``text``.
    - ``generate``: the model writes the assistant message; ``prefix`` is written for it first
      (e.g. "The answer is (") and is part of the message; ``max_gen_toks`` caps this turn.
    - ``prefill``: an assistant message whose ``text`` is fixed by the task (no model call).
    - ``choices``: the assistant message is the option in ``choices`` with the highest
      log-likelihood after ``prefix``; every option's log-likelihood is recorded. With ``probe``
      the read-out is recorded (role ``probe``) but is not part of the conversation: later
      prompts do not contain it.

    ``reasoning`` marks a generated turn expected to run long (chain of thought): on backends
    that generate in stages it starts at the last stage (:mod:`harness_ext.dialogue.stages`).
    """

    kind: TurnKind
    text: str = ""
    name: str = ""
    prefix: str = ""
    choices: tuple[str, ...] = ()
    max_gen_toks: int | None = None
    probe: bool = False
    reasoning: bool = False

    @property
    def is_model_turn(self) -> bool:
        return self.kind in ("generate", "choices")


@dataclass(frozen=True)
class Script:
    """The whole conversation of one document, plus generation settings shared by its turns."""

    turns: tuple[Turn, ...]
    system: str | None = None
    gen_kwargs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` with ``choices`` as lists, without its recursive copy (once per
        request: it was a third of the cost of building a request)."""
        return {
            "turns": tuple(
                {f: list(t.choices) if f == "choices" else getattr(t, f) for f in _TURN_FIELDS}
                for t in self.turns
            ),
            "system": self.system,
            "gen_kwargs": copy.deepcopy(self.gen_kwargs),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Script:
        turns = tuple(Turn(**{**t, "choices": tuple(t.get("choices", ()))}) for t in d["turns"])
        return cls(turns=turns, system=d.get("system"), gen_kwargs=dict(d.get("gen_kwargs", {})))


_TURN_FIELDS = tuple(f.name for f in fields(Turn))


def user(text: str, name: str = "") -> Turn:
    return Turn("user", text=text, name=name)


def generate(name: str, prefix: str = "", max_gen_toks: int | None = None, reasoning: bool = False) -> Turn:
    return Turn("generate", name=name, prefix=prefix, max_gen_toks=max_gen_toks, reasoning=reasoning)


def prefill(text: str, name: str = "") -> Turn:
    return Turn("prefill", text=text, name=name)


def read_choices(
    name: str, choices: list[str] | tuple[str, ...], prefix: str = "", probe: bool = False
) -> Turn:
    return Turn("choices", name=name, prefix=prefix, choices=tuple(choices), probe=probe)
