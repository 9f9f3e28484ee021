"""Padded-batch generation on lm-eval's ``hf`` backend: rows stop on their own, long replies in stages.

**Per-row stop strings.** lm-eval's ``hf`` backend stops a batch on a stop string only when every
row of the batch has written that same string (``MultiTokenEOSCriteria`` keeps one flag per row
but answers for the whole batch). In a batch where some replies end with the end-of-turn token and
others with a stop string (``"\nHuman:"`` in a plain transcript: the model starts the next turn),
no criterion ever fires and the whole batch computes to its cap; the text after the stop string is
cut afterwards, so only time is lost. On SmolLM2, plain transcripts, 40 items, 6 of 9 batches ran
to the 256-token cap this way (replies of at most 43 tokens). During the engine's calls
:func:`row_stops` swaps in a criterion that finishes each row when it has written any stop
string (transformers then pads that row, as it does after an end-of-turn token): every row's
tokens up to its stop string are the ones the batch computes anyway, so the texts, cut at their
first stop string, are the same, and a batch ends when its last row does.

**Stages.** The same backend generates a batch until its last row ends, so one reply that runs
to a 1024-token cap makes every row of its batch compute 1024 steps. On SmolLM2 with batch 16,
one such reply in a challenge round made its batch cost 245 s against 15 s for a batch whose
longest reply had 79 tokens (``benchmarks/peer_inspect.py`` counts the batch positions).

So the turns of a round whose caps exceed the first of :data:`STAGES` are generated in stages:
each first gets at most ``STAGES[0]`` tokens; the replies that used their whole stage (by the
backend's tokenizer) continue from their prompt plus what they wrote, to the next stage, batched
among themselves, and so on to their own caps. With greedy decoding a reply that ended within a
stage is the same text as in one call; a continued reply is generated from its re-tokenised text,
which can differ from the tokens it generated at the join (rarely, for ordinary text). Stop
sequences are applied again to the joined text, so a stop string that straddles a join still ends
the reply.

A stage costs each continuing reply a new pass over its prompt. When most of the replies that
reach a stage go on (reasoning; of :data:`MAJORITY_MIN_ROWS` or more), they get the rest of their
caps in one call. The first stage would be paid anyway: on CPU, 16 chain-of-thought replies of
256 tokens (15 past 64) took 78.5 s in stages against 68.3 s in one call (same texts), while
rounds of mostly short replies with a few long ones gain (the demo's first run, 20 documents per
subtask: 383 s with stages for caps above 64, 447 s with stages only above 256). So turns the
script marks as reasoning (``Turn.reasoning``: chains of thought) skip every stage but the last.

**Loops.** A continuing reply whose last tokens repeat one block (:func:`cycle_period`: at least
:data:`LOOP_REPEATS` times, :data:`LOOP_MIN_TOKENS` tokens or more) is in the loop greedy decoding
falls into ("I'm sorry for any confusion." again and again). It continues alone, to its cap, with
transformers' prompt-lookup decoding (``prompt_lookup_num_tokens``): the next tokens are proposed
from the earlier text and checked in one forward pass, so a loop costs one pass per
:data:`LOOKUP_TOKENS` tokens instead of one per token. Checking keeps greedy decoding's tokens
(up to the floating-point differences of a different batch shape). Greedy replies only: a sampled
reply continues batched.

**Length groups.** The backend pads every row of a batch to its longest prompt. A looping reply
of 1024 tokens makes its conversation's next prompts five times as long as the others, and the
rows batched with it are padded to that length: on SmolLM2, 40 challenge items, the round after
two such replies (final answers and letter read-outs) cost more than the first two rounds
together. On the hf backend a call's requests are therefore sent in groups of similar length
(:func:`length_groups`: no row padded to more than twice its length plus
:data:`GROUP_SLACK_TOKENS`), one backend call per group; requests of similar lengths stay one call.

``HARNESS_EXT_GEN_STAGE=N`` sets a single stage of N tokens for any backend with a tokenizer
(``0``: one call per round, no stages, no prompt lookup); ``HARNESS_EXT_ROW_STOPS=0`` keeps
lm-eval's own stop criterion; ``HARNESS_EXT_LENGTH_GROUPS=0`` sends each call whole.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

#: Token bounds of the stages on lm-eval's hf backend: a reply may first write ``STAGES[0]`` tokens,
#: then up to ``STAGES[1]``, then the rest of its cap. Most answers and challenge replies end within
#: the first (SmolLM2, 40 challenge items: 37 of 40 replies under 64 tokens).
STAGES = (64, 256)
#: A stage continues to the caps in one call when more than half of at least this many replies
#: that reached it go on.
MAJORITY_MIN_ROWS = 4
#: Rows within this many tokens of a group's longest prompt join it whatever their length.
GROUP_SLACK_TOKENS = 256
#: Tokens that prompt-lookup decoding proposes per forward pass for a looping reply, and the
#: longest run of last tokens it matches in the earlier text (transformers takes the first match:
#: a run longer than the loop's block is first found inside the loop, not in the prompt). On
#: SmolLM2's two looping challenge replies, 512 tokens each: 33 s of CPU by plain decoding,
#: 5.7 and 18.8 s with transformers' defaults here (16 tokens, runs of 2), 2.5 s with these.
LOOKUP_TOKENS = 64
LOOKUP_NGRAM = 16
#: A reply loops when its last tokens are one block repeated at least this many times ...
LOOP_REPEATS = 4
#: ... over at least this many tokens.
LOOP_MIN_TOKENS = 32
#: A first-stage reply re-tokenised to at least ``stage - STAGE_SLACK`` tokens is taken to have
#: used the whole stage (re-tokenising decoded text can give a few tokens fewer).
STAGE_SLACK = 8

Call = Callable[[list[tuple[str, dict[str, Any]]]], list[str]]


def stage_bounds(lm: Any) -> tuple[int, ...]:
    """The stage bounds for ``lm``: :data:`STAGES` on lm-eval's hf backend, ``(N,)`` with
    ``HARNESS_EXT_GEN_STAGE=N`` on a backend with a tokenizer, else ``()`` (one call)."""
    env = os.environ.get("HARNESS_EXT_GEN_STAGE", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"HARNESS_EXT_GEN_STAGE: expected a number of tokens, found {env!r}") from None
        return (n,) if n > 0 and callable(getattr(lm, "tok_encode", None)) else ()
    return STAGES if _is_hf(lm) else ()


def _is_hf(lm: Any) -> bool:
    hf = sys.modules.get("lm_eval.models.huggingface")
    return hf is not None and isinstance(lm, hf.HFLM)


def _off(name: str) -> bool:
    return os.environ.get(name, "1").strip().lower() in ("0", "false", "no", "off")


def length_groups(lengths: Sequence[int], slack: int | None = None) -> list[list[int]]:
    """Indices of ``lengths`` in groups, longest first, such that every row's length is at least
    half its group's longest, or within ``slack`` tokens of it (default :data:`GROUP_SLACK_TOKENS`)."""
    slack = GROUP_SLACK_TOKENS if slack is None else slack
    groups: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        top = lengths[groups[-1][0]] if groups else None
        if top is not None and (2 * lengths[i] >= top or top - lengths[i] <= slack):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def grouped(lm: Any, texts: Sequence[str], call: Callable[[list[int]], list[Any]]) -> list[Any]:
    """``call`` over the indices of ``texts`` once per :func:`length_groups` group on the hf
    backend (results put back in order), once over all elsewhere."""
    if not texts or not _is_hf(lm) or _off("HARNESS_EXT_LENGTH_GROUPS"):
        return call(list(range(len(texts))))
    sizes = {t: len(lm.tok_encode(t)) for t in set(texts)}  # read-outs repeat a prompt per option
    groups = length_groups([sizes[t] for t in texts])
    if len(groups) == 1:
        return call(list(range(len(texts))))
    out: list[Any] = [None] * len(texts)
    for g in sorted(map(sorted, groups)):  # each group in request order, groups by first request
        for i, r in zip(g, call(g), strict=True):
            out[i] = r
    return out


def cycle_period(
    ids: Sequence[int], *, repeats: int | None = None, min_tokens: int | None = None
) -> int | None:
    """The shortest period ``p`` with which the last ``max(repeats * p, min_tokens)`` tokens of
    ``ids`` repeat (``ids[j] == ids[j - p]`` throughout), or None when the tail is not periodic
    (defaults: :data:`LOOP_REPEATS`, :data:`LOOP_MIN_TOKENS`)."""
    repeats = LOOP_REPEATS if repeats is None else repeats
    min_tokens = LOOP_MIN_TOKENS if min_tokens is None else min_tokens
    n = len(ids)
    for p in range(1, n // repeats + 1):
        span = max(repeats * p, min_tokens)
        if span > n:
            return None
        if all(ids[j] == ids[j - p] for j in range(n - span + p, n)):
            return p
    return None


class RowStops:
    """A ``transformers`` stopping criterion that finishes each row of a batch on its own: a row is
    done once the text it generated (the last tokens, a window long enough for the longest stop
    string as lm-eval looks back) contains any of ``stops``. Returns one flag per row."""

    def __init__(self, tokenizer: Any, stops: Sequence[str], start: int, batch_size: int) -> None:
        import torch

        self.tokenizer, self.start = tokenizer, start
        self.stops = [s for s in stops if s]
        self.window = (
            max((len(tokenizer.encode(s, add_special_tokens=False)) for s in self.stops), default=0) + 2
        )
        self.done = torch.zeros(batch_size, dtype=torch.bool)

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        if self.done.device != input_ids.device:
            self.done = self.done.to(input_ids.device)
        tails = self.tokenizer.batch_decode(input_ids[:, self.start :][:, -self.window :])
        now = [any(s in t for s in self.stops) for t in tails]
        self.done |= torch.tensor(now, dtype=torch.bool, device=input_ids.device)
        return self.done.clone()


def _row_stop_criteria(tokenizer: Any, stops: list[str], start: int, batch_size: int) -> Any:
    """Drop-in for lm-eval's ``stop_sequences_criteria`` (same arguments) with per-row stops."""
    from transformers import StoppingCriteriaList

    return StoppingCriteriaList([RowStops(tokenizer, stops, start, batch_size)])


@contextlib.contextmanager
def row_stops(lm: Any) -> Iterator[None]:
    """Per-row stop strings for the duration of a call, where ``lm`` is lm-eval's ``hf`` backend
    (``HFLM._model_generate`` builds its criteria from the module's ``stop_sequences_criteria``).
    ``HARNESS_EXT_ROW_STOPS=0`` keeps lm-eval's own criterion."""
    if _off("HARNESS_EXT_ROW_STOPS") or not _is_hf(lm):
        yield
        return
    hf = sys.modules["lm_eval.models.huggingface"]
    own = hf.stop_sequences_criteria
    setattr(hf, "stop_sequences_criteria", _row_stop_criteria)  # noqa: B010
    try:
        yield
    finally:
        setattr(hf, "stop_sequences_criteria", own)  # noqa: B010


def _cut(text: str, until: Any) -> str:
    """``text`` up to its first stop sequence, as lm-eval's ``generate_until`` cuts."""
    for stop in [until] if isinstance(until, str) else list(until or []):
        if stop:
            text = text.split(stop)[0]
    return text


def generate(
    lm: Any,
    args: Sequence[tuple[str, dict[str, Any]]],
    call: Call,
    reasoning: Sequence[bool] | None = None,
) -> list[str]:
    """``generate_until`` over ``args`` through ``call`` (one batched backend call each), with
    per-row stops on the hf backend, in stages where :func:`stage_bounds` gives some and a turn's
    cap is above the first, looping replies continued by prompt lookup (hf backend only).

    Rows flagged in ``reasoning`` (turns expected to run long) skip all stages but the last
    (SmolLM2 on CPU, 16 chain-of-thought replies of 256 tokens: 86.2 s of CPU with a first stage
    of 64 tokens, 73.8 s without, same texts). They go in calls of their own (the backend batches
    turns of different caps apart anyway) where stages differ; elsewhere (one stage or none, as
    on backends without stages) the flags change nothing and a round stays one call."""
    bounds = stage_bounds(lm)
    flags = [bool(f) for f in reasoning] if reasoning is not None else [False] * len(args)
    if len(flags) != len(args):
        raise ValueError(f"reasoning: expected {len(args)} flags, found {len(flags)}")
    own = [bounds[-1:] if f else bounds for f in flags]  # each row's stages
    out: list[str] = [""] * len(args)
    for staging in dict.fromkeys(own):  # one pass per distinct set of stages, in order of rows
        idx = [i for i, b in enumerate(own) if b == staging]
        for i, text in zip(idx, _staged(lm, [args[i] for i in idx], call, staging), strict=True):
            out[i] = text
    return out


def _staged(
    lm: Any, args: Sequence[tuple[str, dict[str, Any]]], call: Call, bounds: tuple[int, ...]
) -> list[str]:
    """:func:`generate` over ``args`` with the stage bounds ``bounds``."""

    def send(batch: list[tuple[str, dict[str, Any]]]) -> list[str]:
        with row_stops(lm):
            return grouped(lm, [p for p, _ in batch], lambda idx: call([batch[i] for i in idx]))

    caps = [int(k["max_gen_toks"]) if k.get("max_gen_toks") is not None else 0 for _, k in args]
    live = [i for i, cap in enumerate(caps) if bounds and cap > bounds[0]]
    if not live:
        return send(list(args))
    continued = set(live)
    texts = send(
        [(p, k | {"max_gen_toks": bounds[0]}) if i in continued else (p, k) for i, (p, k) in enumerate(args)]
    )
    lookup = _is_hf(lm)
    used: dict[int, int] = {}

    def more(i: int, to: int | None, **extra: Any) -> tuple[str, dict[str, Any]]:
        """Row ``i`` continued from what it wrote, to the bound ``to`` (None: its cap)."""
        cap = caps[i] if to is None else min(caps[i], to)
        return args[i][0] + texts[i], args[i][1] | {"max_gen_toks": max(1, cap - used[i])} | extra

    for bound, upto in zip(bounds, (*bounds[1:], None), strict=True):
        entered = live
        ids = {i: lm.tok_encode(texts[i]) for i in entered}
        used.update({i: len(ids[i]) for i in entered})
        live = [i for i in entered if caps[i] > bound and used[i] >= bound - STAGE_SLACK]
        if not live:
            break
        if len(entered) >= MAJORITY_MIN_ROWS and 2 * len(live) > len(entered):
            upto = None  # most replies run long (reasoning): the rest of their caps in one call
        loops = [
            i for i in live if lookup and not args[i][1].get("do_sample") and cycle_period(ids[i]) is not None
        ]
        batched = [i for i in live if i not in loops]
        tails = dict(zip(batched, send([more(i, upto) for i in batched]), strict=True)) if batched else {}
        for i in loops:  # alone (prompt lookup needs a batch of one), to the cap
            lookup_kw = {"prompt_lookup_num_tokens": LOOKUP_TOKENS, "max_matching_ngram_size": LOOKUP_NGRAM}
            (tails[i],) = send([more(i, None, **lookup_kw)])
        for i, tail in tails.items():
            texts[i] += tail
        live = batched if upto is not None else []
    for i in continued:
        texts[i] = _cut(texts[i], args[i][1].get("until"))
    return texts
