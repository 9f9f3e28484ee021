"""The one engine: play every scripted conversation of the run, round by round.

Round k gathers the k-th model turn of every unfinished conversation (of every task in the run)
and sends them to the backend in ONE call of its own batched method (``generate_until`` for
generated turns, ``loglikelihood`` for option read-outs); the backend sorts, batches and caches.
The answers are appended, fixed turns (user text, prefilled assistant text) are played, and the
next round starts, until every conversation has ended.

``--use_cache``: lm-eval's ``CachingLM`` only sees requests the evaluator makes itself, so each
round looks its requests up in the same SQLite cache (same keys as ``CachingLM``) and stores new
answers there as they come. A run killed mid-way resumes from the cache; an identical rerun makes
no model calls. Sampled generations (``do_sample``) are never cached, as in lm-eval.

Progress: lm-eval configures only its own logger, so the engine also shows, like lm-eval's own
request loops, one tqdm bar per round on stderr (model turns answered, how many came from the
cache, elapsed time) and a one-line summary of the whole run. ``HARNESS_EXT_PROGRESS=0`` hides them.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import hash_args

from harness_ext.dialogue import stages
from harness_ext.dialogue.render import TRANSCRIPT_STOPS, render_prompt
from harness_ext.dialogue.script import Script, Turn

log = logging.getLogger("harness_ext")

REQUEST_TYPE = "harness_ext_dialogue"


@dataclass
class Conversation:
    """A script being played: its transcript so far and the position of the next turn."""

    script: Script
    chat: bool
    transcript: list[dict[str, Any]] = field(default_factory=list)
    pos: int = 0

    def next_model_turn(self) -> Turn | None:
        """Play fixed turns up to the next model turn and return it (None when finished)."""
        while self.pos < len(self.script.turns):
            turn = self.script.turns[self.pos]
            if turn.is_model_turn:
                return turn
            role = "user" if turn.kind == "user" else "assistant"
            self.transcript.append({"role": role, "content": turn.text, "name": turn.name, "kind": turn.kind})
            self.pos += 1
        return None

    def answer(self, turn: Turn, content: str, **extra: Any) -> None:
        entry = {"role": "assistant", "content": content, "name": turn.name, "kind": turn.kind}
        self.transcript.append(entry | extra)
        self.pos += 1


def _gen_kwargs(conv: Conversation, turn: Turn) -> dict[str, Any]:
    kwargs = copy.deepcopy(conv.script.gen_kwargs)
    if turn.max_gen_toks is not None and "max_gen_toks" not in kwargs:
        kwargs["max_gen_toks"] = turn.max_gen_toks  # a CLI/YAML max_gen_toks wins over turn caps
    if not conv.chat:
        until = kwargs.get("until") or []
        until = [until] if isinstance(until, str) else list(until)
        kwargs["until"] = until + [s for s in TRANSCRIPT_STOPS if s not in until]
    return kwargs


def _call(
    lm: Any, method: str, args: list[tuple[Any, ...]], progress: RoundProgress | None = None
) -> list[Any]:
    """One batched backend call, served from lm-eval's request cache where possible."""
    db: Any = getattr(getattr(lm, "cache_hook", None), "dbdict", None)

    def cacheable(a: tuple[Any, ...]) -> bool:
        return db is not None and not (method == "generate_until" and a[1].get("do_sample"))

    keys = [hash_args(method, a) if cacheable(a) else None for a in args]
    out: list[Any] = [db[k] if (k is not None and k in db) else None for k in keys]
    todo = [i for i, r in enumerate(out) if r is None]
    if db is not None:
        log.info(
            "harness-ext: %d of %d %s requests served from cache", len(args) - len(todo), len(args), method
        )
    if progress is not None:
        progress.served(method, len(args), len(args) - len(todo))
    if todo:
        reqs = [Instance(method, {}, args[i], i) for i in todo]  # type: ignore[arg-type]
        for i, res in zip(todo, getattr(lm, method)(reqs), strict=True):
            out[i] = res
            if keys[i] is not None:
                db[keys[i]] = res
        if db is not None:
            db.commit()
    return out


def progress_enabled() -> bool:
    return os.environ.get("HARNESS_EXT_PROGRESS", "1").strip().lower() not in ("0", "false", "no", "off")


class RoundProgress:
    """One tqdm bar per round on stderr: model turns answered, cache hits, elapsed time.

    The bar is drawn once the round's requests are known to be cached or answered, so that it does
    not share a line with the backend's own request bar; its elapsed time covers the whole round.
    """

    def __init__(self, rounds: int, file: Any = None):
        self.rounds, self.file = rounds, file
        self.round = self.turns = self.cached = self.requests = 0
        self.t0 = time.perf_counter()
        self.bar: Any = None
        self.round_cached = self.round_requests = 0

    def start(self, turns: int) -> None:
        from tqdm import tqdm

        self.round += 1
        self.round_cached = self.round_requests = 0
        self.bar = tqdm(
            total=turns,
            desc=f"harness-ext round {self.round}/{self.rounds}",
            unit="turn",
            file=self.file or sys.stderr,
            delay=1e9,  # drawn by finish(), after the backend's own bar
        )
        self.turns += turns

    def served(self, method: str, n: int, cached: int) -> None:
        self.round_requests += n
        self.round_cached += cached
        self.requests += n
        self.cached += cached

    def finish(self) -> None:
        bar = self.bar
        bar.delay = 0
        bar.set_postfix_str(f"{self.round_cached}/{self.round_requests} requests from cache", refresh=False)
        bar.n = bar.total  # no update(): close() draws the finished bar once
        bar.close()

    def summary(self) -> None:
        from tqdm import tqdm

        tqdm.write(
            f"harness-ext: {self.round} rounds, {self.turns} model turns, {self.cached} of "
            f"{self.requests} requests from cache, {time.perf_counter() - self.t0:.1f} s",
            file=self.file or sys.stderr,
        )


def _length(lm: Any, text: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The generated length in tokens and the turn's cap, for the share of turns that hit the cap.

    Counted with the backend's tokenizer (``tok_encode``) where it has one, else approximated as
    whitespace-separated words x 4/3 (a common tokens-per-word ratio for English).
    """
    cap = kwargs.get("max_gen_toks")
    if cap is None:
        cap = getattr(lm, "max_gen_toks", None)
    encode = getattr(lm, "tok_encode", None)
    try:
        n = len(encode(text)) if callable(encode) else round(len(text.split()) * 4 / 3)
    except Exception:  # a backend whose tokenizer rejects the call: fall back to the estimate
        n = round(len(text.split()) * 4 / 3)
    return {"gen_tokens": int(n), "max_gen_toks": None if cap is None else int(cap)}


def _choice_continuation(conv: Conversation, turn: Turn, choice: str) -> str:
    # A plain transcript ends with "Assistant:", so a bare option needs the word-boundary space;
    # a chat prompt ends with the assistant header, and a prefix ends where the option begins.
    return choice if (conv.chat or turn.prefix) else " " + choice


def play_round(lm: Any, convs: Sequence[Conversation], progress: RoundProgress | None = None) -> int:
    """Advance every conversation by one model turn; returns how many turns were answered.

    Probe read-outs (``Turn.probe``) do not take a round of their own: each is read from the
    conversation as it stands at the probe, in the same round as the conversation's next model turn.
    """
    chat_template = getattr(lm, "apply_chat_template", None)

    def prompt(c: Conversation, t: Turn) -> str:
        return render_prompt(
            [m for m in c.transcript if m["role"] != "probe"],
            system=c.script.system,
            prefix=t.prefix,
            chat_template=chat_template if c.chat else None,
        )

    pending: list[tuple[Conversation, Turn, str]] = []
    probes: list[tuple[Conversation, Turn, str, int]] = []  # ..., transcript index of the entry
    for c in convs:
        t = c.next_model_turn()
        while t is not None and t.probe:
            probes.append((c, t, prompt(c, t), len(c.transcript)))
            c.pos += 1
            t = c.next_model_turn()
        if t is not None:
            pending.append((c, t, prompt(c, t)))
    if not pending and not probes:
        return 0
    if progress is not None:
        progress.start(len(pending))

    gen = [(c, t, p) for c, t, p in pending if t.kind == "generate"]
    if gen:
        kwargs = [_gen_kwargs(c, t) for c, t, _ in gen]
        texts = stages.generate(
            lm,
            [(p, k) for (_, _, p), k in zip(gen, kwargs, strict=True)],
            lambda args: _call(lm, "generate_until", args, progress),
            reasoning=[t.reasoning for _, t, _ in gen],
        )
        for (c, t, _), k, text in zip(gen, kwargs, texts, strict=True):
            body = text if t.prefix else text.lstrip()
            c.answer(t, t.prefix + body.rstrip(), **_length(lm, text, k))

    read = [(c, t, p, None) for c, t, p in pending if t.kind == "choices"] + probes
    if read:
        args = [(p, _choice_continuation(c, t, ch)) for c, t, p, _ in read for ch in t.choices]
        try:
            scores = iter(
                stages.grouped(
                    lm,
                    [p for p, _ in args],
                    lambda idx: _call(lm, "loglikelihood", [args[i] for i in idx], progress),
                )
            )
        except NotImplementedError:
            # chat-completion APIs have no log-likelihoods: optional probe read-outs are left out
            # (their metrics come out NaN); a read-out the conversation needs cannot be skipped
            if any(at is None for *_, at in read):
                raise
            log.warning("harness-ext: the backend has no loglikelihood; option read-outs are skipped")
            read, scores = [], iter(())
        inserted: dict[int, int] = {}
        for c, t, _, at in read:
            lls = [float(next(scores)[0]) for _ in t.choices]
            best = max(range(len(lls)), key=lls.__getitem__)
            extra = {"choice_index": best, "loglikelihoods": lls}
            if at is None:
                c.answer(t, t.prefix + t.choices[best], **extra)
                continue
            entry = {"role": "probe", "content": t.prefix + t.choices[best], "name": t.name, "kind": t.kind}
            c.transcript.insert(at + inserted.get(id(c), 0), entry | extra)
            inserted[id(c)] = inserted.get(id(c), 0) + 1
    if progress is not None:
        progress.finish()
    return len(pending) + len(probes)


def encode_transcript(transcript: Sequence[dict[str, Any]]) -> list[str]:
    """Messages as JSON strings: lm-eval's sample writer turns anything but strings into repr()."""
    return [json.dumps(m, ensure_ascii=False) for m in transcript]


def decode_transcript(resp: Sequence[Any]) -> list[dict[str, Any]]:
    """Inverse of :func:`encode_transcript`; accepts already-decoded messages too."""
    return [json.loads(m) if isinstance(m, str) else dict(m) for m in resp]


def run_dialogues(lm: Any, requests: Sequence[Instance]) -> list[list[str]]:
    """Play the conversations of ``requests`` (``arguments = (first_prompt, spec)``) to the end.

    Returns one transcript per request, every message (user and assistant) in order, each message
    a JSON object string (see :func:`encode_transcript`).
    """
    convs = [
        Conversation(Script.from_dict(r.args[1]["script"]), chat=bool(r.args[1]["chat"])) for r in requests
    ]
    rounds = max((sum(t.is_model_turn and not t.probe for t in c.script.turns) for c in convs), default=0)
    progress = RoundProgress(rounds) if progress_enabled() else None
    rnd = 0
    while n := play_round(lm, convs, progress):
        rnd += 1
        log.info("harness-ext: dialogue round %d answered %d model turns", rnd, n)
    if progress is not None:
        progress.summary()
    return [encode_transcript(c.transcript) for c in convs]
