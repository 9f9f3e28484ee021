"""Long replies in two stages on padded-batch backends, so one runaway reply does not hold a batch.

lm-eval's ``hf`` backend generates a batch of rows together until the last row ends: a single
reply that runs to a 1024-token cap makes the batch compute 1024 steps for every row, finished or
not. On SmolLM2 with batch 16, one such reply in a challenge round made that batch cost 245 s
against 15 s for a batch whose longest reply had 79 tokens (``benchmarks/peer_inspect.py`` counts
the batch positions computed).

So on that backend a round whose turns may generate more than :data:`STAGE_TOKENS` tokens is sent
in two calls: every turn capped at :data:`STAGE_TOKENS`; then only the replies that used the whole
stage (by the backend's tokenizer) continue, from their prompt plus what they wrote, with the rest
of their own cap, batched among themselves. With greedy decoding a reply that ended within the
stage is the same text as in one call (same batch, same prompt); a reply that continues is
generated from its re-tokenised text, which can differ from the tokens it generated at the join
(rarely, for ordinary text). Stop sequences are applied again to the joined text, so a stop string
that straddles the join still ends the reply.

``HARNESS_EXT_GEN_STAGE=N`` sets the stage for any backend with a tokenizer (``0``: one call).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

#: Tokens every reply of a round gets in the first call (the caps of answers and short replies fit).
STAGE_TOKENS = 256
#: A first-stage reply re-tokenised to at least ``stage - STAGE_SLACK`` tokens is taken to have
#: used the whole stage (re-tokenising decoded text can give a few tokens fewer).
STAGE_SLACK = 8

Call = Callable[[list[tuple[str, dict[str, Any]]]], list[str]]


def stage_tokens(lm: Any) -> int | None:
    """The first-stage cap for ``lm``, or None to generate in one call."""
    env = os.environ.get("HARNESS_EXT_GEN_STAGE", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"HARNESS_EXT_GEN_STAGE: expected a number of tokens, found {env!r}") from None
        return n if n > 0 and callable(getattr(lm, "tok_encode", None)) else None
    hf = sys.modules.get("lm_eval.models.huggingface")
    return STAGE_TOKENS if hf is not None and isinstance(lm, hf.HFLM) else None


def _cut(text: str, until: Any) -> str:
    """``text`` up to its first stop sequence, as lm-eval's ``generate_until`` cuts."""
    for stop in [until] if isinstance(until, str) else list(until or []):
        if stop:
            text = text.split(stop)[0]
    return text


def generate(lm: Any, args: Sequence[tuple[str, dict[str, Any]]], call: Call) -> list[str]:
    """``generate_until`` over ``args`` through ``call`` (one batched backend call each), in two
    stages where :func:`stage_tokens` says so and some turn's cap is above the stage."""
    stage = stage_tokens(lm)
    caps = [int(k["max_gen_toks"]) if k.get("max_gen_toks") is not None else 0 for _, k in args]
    long = [i for i, cap in enumerate(caps) if stage is not None and cap > stage]
    if not long:
        return call(list(args))
    assert stage is not None
    staged = set(long)
    first = [(p, k | {"max_gen_toks": stage}) if i in staged else (p, k) for i, (p, k) in enumerate(args)]
    texts = call(first)
    used = {i: len(lm.tok_encode(texts[i])) for i in long}
    more = [i for i in long if used[i] >= stage - STAGE_SLACK]
    if more:
        rest = call(
            [(args[i][0] + texts[i], args[i][1] | {"max_gen_toks": max(1, caps[i] - used[i])}) for i in more]
        )
        for i, tail in zip(more, rest, strict=True):
            texts[i] = _cut(texts[i] + tail, args[i][1].get("until"))
    return texts
