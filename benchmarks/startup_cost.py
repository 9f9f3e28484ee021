"""What the task-discovery start-up hook costs a Python program that never imports lm_eval.

Runs ``python -X importtime -c pass`` repeatedly and prints the median cumulative import time of
the hook's modules (``harness_ext`` and ``harness_ext._autoload``, imported by
``harness_ext_autoload.pth``) next to the median wall time of the whole interpreter start-up,
measured in the same runs, and their ratio.

    python benchmarks/startup_cost.py --runs 20
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def one_run() -> tuple[float, float]:
    t = time.perf_counter()
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True
    ).stderr
    wall = time.perf_counter() - t
    hook_us = 0
    for line in err.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] in ("harness_ext", "harness_ext._autoload"):
            hook_us = max(hook_us, int(parts[1]))  # cumulative: harness_ext includes its children
    return hook_us / 1e6, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    runs = [one_run() for _ in range(args.runs)]
    hook = statistics.median(r[0] for r in runs)
    wall = statistics.median(r[1] for r in runs)
    print(
        f"hook imports: {hook * 1e3:.2f} ms; interpreter start-up: {wall * 1e3:.1f} ms; ratio {hook / wall:.3f}"
    )


if __name__ == "__main__":
    main()
