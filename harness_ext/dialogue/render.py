"""Turn a conversation so far into the backend's prompt: chat template, or plain transcript."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness_ext.prompts import render

ChatTemplate = Callable[..., str]

#: Stop strings for plain-transcript generation, so a base model does not write the next turn.
TRANSCRIPT_STOPS = ("\nHuman:",)


def messages(history: Sequence[dict[str, Any]], system: str | None) -> list[dict[str, str]]:
    """Role/content messages (system first) from transcript entries that may carry extra keys."""
    out = [{"role": "system", "content": system}] if system else []
    out += [{"role": m["role"], "content": m["content"]} for m in history]
    return out


def render_prompt(
    history: Sequence[dict[str, Any]],
    *,
    system: str | None,
    prefix: str,
    chat_template: ChatTemplate | None,
) -> str:
    """The prompt for the next assistant turn.

    With a chat template (``--apply_chat_template``) the backend's own ``apply_chat_template``
    renders the messages; a non-empty ``prefix`` is sent as an unfinished assistant message that
    the model continues, exactly as lm-eval does for ``gen_prefix``. API chat backends return
    their JSON message list here. Without a chat template the conversation is a plain
    Human/Assistant transcript from ``prompts/transcript.j2``.
    """
    if chat_template is not None:
        msgs = messages(history, system)
        if prefix:
            return chat_template(
                [*msgs, {"role": "assistant", "content": prefix}], add_generation_prompt=False
            )
        return chat_template(msgs, add_generation_prompt=True)
    return render("transcript.j2", system=system, messages=list(history), prefix=prefix)
