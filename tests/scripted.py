"""Scripted fake models for end-to-end tests: lm-eval ``LM`` subclasses with known answers.

They record every backend call, so tests can assert that each conversation round is ONE batched
call, and they render chat templates deterministically.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from lm_eval.api.model import LM

Responder = Callable[[str, dict[str, Any]], str]


class ScriptedLM(LM):
    """``generate_until`` answers with ``respond(prompt, gen_kwargs)``; ``loglikelihood`` with ``score``."""

    def __init__(
        self,
        respond: Responder,
        score: Callable[[str, str], float] | None = None,
    ) -> None:
        super().__init__()
        self.respond = respond
        self.score = score or (lambda ctx, cont: -float(len(cont)))
        self.calls: list[tuple[str, int]] = []
        self.prompts: list[str] = []

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        self.calls.append(("generate_until", len(requests)))
        out = []
        for r in requests:
            ctx, kwargs = r.args
            self.prompts.append(ctx)
            text = self.respond(ctx, kwargs)
            self.cache_hook.add_partial("generate_until", r.args, text)
            out.append(text)
        return out

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        self.calls.append(("loglikelihood", len(requests)))
        return [(self.score(*r.args), False) for r in requests]

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        raise NotImplementedError

    @property
    def tokenizer_name(self) -> str:
        return "scripted"

    def chat_template(self, chat_template: bool | str = False) -> str:
        return "scripted"

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        text = "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in chat_history)
        if add_generation_prompt:
            return text + "<|assistant|>"
        return text[: -len("<|end|>")]  # continue the final (assistant) message


def last_user_turn(prompt: str) -> str:
    """The text of the last user message of a chat-rendered or plain-transcript prompt."""
    chat = re.findall(r"<\|user\|>(.*?)<\|end\|>", prompt, flags=re.S)
    if chat:
        return chat[-1]
    plain = re.findall(r"Human: (.*?)\n\n(?:Assistant:)", prompt, flags=re.S)
    return plain[-1] if plain else ""
