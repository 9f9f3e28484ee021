"""Overhead of the dialogue engine over plain batched generation, on the embedded model.

Measures, in one process, with the same loaded model (greedy decoding, so both generate the same
tokens):

- E: a 2-round ``sycophancy_challenge_prefilled`` run through ``lm_eval.simple_evaluate`` on N
  documents: task building, the rounds (prompt rendering with the chat template, the batched
  backend call, bookkeeping), scoring, metrics with bootstrap; and each round's own time;
- P: plain backend calls over exactly the requests of E's rounds (recorded in a warm-up run):
  ``lm.generate_until`` with the same prompts and generation settings, and ``lm.loglikelihood``
  for the letter read-outs of the same round, i.e. the model work alone.

A shared machine is noisy (+/-20% between runs), so the benchmark

- interleaves E and P within every repetition, alternating which goes first (ABBA), and pairs them;
- times both by wall clock and by this process's CPU time (all threads; much less sensitive to
  other processes on the machine);
- normalises each time by the tokens generated in it (seconds per generated token), so a pass that
  generated more or fewer tokens is not mistaken for overhead;
- reports, per round and for the whole run, the ratio E/P of the summed per-token times over the
  repetitions with a 95% bootstrap interval (repetitions resampled as pairs).

A ratio of 1.05 is told from 1.00 when the interval excludes 1.00. Both sides make one call per
round with lm-eval's own batching (the engine's batch changes are switched off), so a reply that
loops to its 1024-token cap holds its whole batch to the cap on both: among the first 32 bundled
documents some do, and a single 2-round pass of 32 documents took 467 s on this project's
machine. The defaults (16 documents, none of which loops, 8 repetitions) keep a run to minutes.

    python benchmarks/dialogue_overhead.py --docs 16 --reps 8 --threads 1
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import lm_eval
import numpy as np
from _threads import add_threads_arg, apply_threads  # benchmarks/_threads.py
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

import harness_ext
from harness_ext.dialogue import runner
from harness_ext.embedded import hf_kwargs

TASK = "sycophancy_challenge_prefilled"


class Clock:
    """Wall and process-CPU seconds of a block."""

    def __enter__(self) -> Clock:
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w0, time.process_time() - self.c0


def ratio_interval(
    e: np.ndarray, p: np.ndarray, iters: int = 10_000, seed: int = 0
) -> tuple[float, float, float]:
    """sum(e) / sum(p) and its 95% bootstrap interval, resampling the paired repetitions."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(e), size=(iters, len(e)))
    boots = e[idx].sum(axis=1) / p[idx].sum(axis=1)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return float(e.sum() / p.sum()), float(lo), float(hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--docs", type=int, default=16, help="documents (conversations) per run (16)")
    ap.add_argument("--reps", type=int, default=8, help="interleaved repetitions (8)")
    ap.add_argument("--batch-size", type=int, default=16)
    add_threads_arg(ap)
    args = ap.parse_args()
    apply_threads(args)
    # one backend call per round with lm-eval's own batching and stop criterion, as the plain
    # passes make: stages, per-row stops and length groups (harness_ext.dialogue.stages) change the
    # model work itself and are measured by peer_inspect.py
    for switch in ("HARNESS_EXT_GEN_STAGE", "HARNESS_EXT_ROW_STOPS", "HARNESS_EXT_LENGTH_GROUPS"):
        os.environ[switch] = "0"

    with Clock() as load:
        lm = HFLM(**hf_kwargs("smollm2"), batch_size=args.batch_size, device="cpu")
    print(f"model loaded in {load.wall:.1f} s; {args.docs} documents, {args.reps} repetitions")
    original = {"generate_until": lm.generate_until, "loglikelihood": lm.loglikelihood}
    tok = lm.tokenizer

    def ntokens(texts: list[str]) -> int:
        return sum(len(ids) for ids in tok(texts, add_special_tokens=False)["input_ids"])

    # --- the engine run, with each round timed and its outputs counted ---------------------------
    # rounds[k]: the backend calls of round k (method, request arguments), recorded in the warm-up
    rounds: list[list[tuple[str, list[tuple]]]] = []
    round_times: list[tuple[float, float, int]] = []
    outputs: list[list[str]] = []
    real_play_round: Callable[..., int] = runner.play_round

    def timed_round(lm_: Any, convs: Any, *a: Any, **k: Any) -> int:
        n_out = len(outputs)
        if record_prompts:
            rounds.append([])
        with Clock() as c:
            n = real_play_round(lm_, convs, *a, **k)
        if n:
            round_times.append((c.wall, c.cpu, sum(ntokens(o) for o in outputs[n_out:])))
        elif record_prompts:
            rounds.pop()
        return n

    def recording(method: str) -> Callable[..., list[Any]]:
        def call(requests: list[Instance], *a: Any, **k: Any) -> list[Any]:
            out = original[method](requests, *a, **k)
            if record_prompts:
                rounds[-1].append((method, [r.args for r in requests]))
            if method == "generate_until":
                outputs.append(out)
            return out

        return call

    def engine_run() -> tuple[Clock, list[tuple[float, float, int]]]:
        round_times.clear()
        tm = harness_ext.task_manager(include_defaults=False)
        with Clock() as c:
            lm_eval.simple_evaluate(
                model=lm, tasks=[TASK], task_manager=tm, limit=args.docs, apply_chat_template=True
            )
        return c, list(round_times)

    def plain_run() -> tuple[Clock, list[tuple[float, float, int]]]:
        """The same backend calls, round by round: generate_until and the read-outs' loglikelihood."""
        per_round = []
        with Clock() as total:
            for calls in rounds:
                n = 0
                with Clock() as c:
                    for method, batch in calls:
                        out = original[method]([Instance(method, {}, a, i) for i, a in enumerate(batch)])
                        n += ntokens(out) if method == "generate_until" else 0
                per_round.append((c.wall, c.cpu, n))
        return total, per_round

    runner.play_round = timed_round  # type: ignore[assignment]
    lm.generate_until = recording("generate_until")  # type: ignore[method-assign]
    lm.loglikelihood = recording("loglikelihood")  # type: ignore[method-assign]
    record_prompts = True
    engine_run()  # warm-up; records every round's prompts
    record_prompts = False
    n_rounds = len(rounds)
    assert n_rounds == 2, f"expected 2 rounds, saw {n_rounds}"

    # rows: [rep, part (0 whole, k round k), which (0 engine, 1 plain), {wall, cpu, tokens}]
    data = np.zeros((args.reps, n_rounds + 1, 2, 3))
    for rep in range(args.reps):
        order = ("engine", "plain") if rep % 2 == 0 else ("plain", "engine")
        for which in order:
            total, per_round = engine_run() if which == "engine" else plain_run()
            w = 0 if which == "engine" else 1
            assert len(per_round) == n_rounds, f"{which} run had {len(per_round)} rounds"
            toks = sum(t for _, _, t in per_round)
            data[rep, 0, w] = (total.wall, total.cpu, toks)
            for k, row in enumerate(per_round, start=1):
                data[rep, k, w] = row
        e, p = data[rep, 0, 0], data[rep, 0, 1]
        print(
            f"rep {rep + 1} ({order[0]} first): engine {e[0]:.1f} s wall / {e[1]:.1f} s cpu, "
            f"{e[2]:.0f} tokens; plain {p[0]:.1f} s / {p[1]:.1f} s, {p[2]:.0f} tokens",
            flush=True,
        )

    print(f"\nengine / plain, seconds per generated token, 95% bootstrap interval over {args.reps} reps:")
    for part in range(n_rounds + 1):
        label = "whole run (simple_evaluate vs plain passes)" if part == 0 else f"round {part}"
        cells = []
        for col, name in ((0, "wall"), (1, "cpu")):
            e = data[:, part, 0, col] / data[:, part, 0, 2]
            p = data[:, part, 1, col] / data[:, part, 1, 2]
            r, lo, hi = ratio_interval(e, p)
            cells.append(f"{name} {r:.3f} [{lo:.3f}, {hi:.3f}]")
        tokens = f"tokens {data[:, part, 0, 2].mean():.0f} vs {data[:, part, 1, 2].mean():.0f}"
        print(f"  {label}: {'; '.join(cells)}; {tokens}")


if __name__ == "__main__":
    main()
