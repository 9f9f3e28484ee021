"""Overhead of the dialogue engine over plain batched generation, on the embedded model.

Measures, in one process and interleaved (the machine is noisy):

- A: wall time of a 2-round ``sycophancy_challenge_prefilled`` run through ``lm_eval.simple_evaluate``
  (task building, the two rounds, scoring, metrics with bootstrap) on N documents;
- B: wall time of two plain ``lm.generate_until`` passes over exactly the prompts and generation
  settings of A's two rounds (recorded from A), i.e. the model work alone.

Prints A/B per repetition and the median. The same loaded model serves both, greedy decoding, so
both generate the same tokens.

    python benchmarks/dialogue_overhead.py --docs 32 --reps 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import lm_eval
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

import harness_ext
from harness_ext.embedded import gguf_path

TASK = "sycophancy_challenge_prefilled"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=32)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    args = ap.parse_args()

    path = gguf_path("smollm2")
    lm = HFLM(pretrained=str(path.parent), gguf_file=path.name, batch_size=args.batch_size, device="cpu")
    rounds: list[list[tuple[str, dict]]] = []
    original = lm.generate_until

    def recording(requests, *a, **k):  # type: ignore[no-untyped-def]
        rounds.append([r.args for r in requests])
        return original(requests, *a, **k)

    def engine_run() -> float:
        tm = harness_ext.task_manager(include_defaults=False)
        t = time.perf_counter()
        lm_eval.simple_evaluate(
            model=lm, tasks=[TASK], task_manager=tm, limit=args.docs, apply_chat_template=True
        )
        return time.perf_counter() - t

    def plain_run() -> float:
        t = time.perf_counter()
        for batch in rounds[:2]:
            original([Instance("generate_until", {}, a, i) for i, a in enumerate(batch)])
        return time.perf_counter() - t

    lm.generate_until = recording  # type: ignore[method-assign]
    engine_run()  # warm-up, and records the two rounds' prompts
    lm.generate_until = original  # type: ignore[method-assign]
    assert len(rounds) == 2, f"expected 2 rounds, saw {len(rounds)}"
    ratios = []
    for rep in range(args.reps):
        a, b = engine_run(), plain_run()
        ratios.append(a / b)
        print(f"rep {rep + 1}: engine run {a:.1f} s, plain generate_until x2 {b:.1f} s, ratio {a / b:.3f}")
    print(f"median ratio over {args.reps} reps ({args.docs} docs, 2 rounds): {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
