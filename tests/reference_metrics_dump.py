"""Recompute every metric of every committed run under ``results/`` and dump or compare them.

    python tests/reference_metrics_dump.py dump OUT.json      # value, stderr, interval per metric
    python tests/reference_metrics_dump.py check OUT.json     # exit 1 on any difference > 1e-12

A refactor of the metric, registry or family code must leave every number unchanged.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from harness_ext.metrics.core import estimate
from harness_ext.runs import load_run

ROOT = Path(__file__).resolve().parent.parent


def compute() -> dict[str, list[float | None]]:
    out: dict[str, list[float | None]] = {}
    for path in sorted((ROOT / "results").rglob("results_*.json")):
        run = load_run(path)
        for name, task in sorted(run.tasks.items()):
            for m in task.metrics:
                iv = estimate(m, task.records, iters=200)
                key = f"{path.relative_to(ROOT)}::{name}::{m.name}"
                out[key] = [None if math.isnan(x) else x for x in (iv.value, iv.stderr, iv.low, iv.high)]
    return out


def main() -> int:
    mode, file = sys.argv[1], Path(sys.argv[2])
    now = compute()
    if mode == "dump":
        file.write_text(json.dumps(now, indent=0), encoding="utf-8")
        print(f"{len(now)} metrics written to {file}")
        return 0
    before = json.loads(file.read_text(encoding="utf-8"))
    bad = [k for k in sorted(set(before) | set(now)) if k not in before or k not in now]
    for k in set(before) & set(now):
        for a, b in zip(before[k], now[k], strict=True):
            if (a is None) != (b is None) or (a is not None and abs(a - b) > 1e-12):
                bad.append(k)
                break
    for k in bad[:20]:
        print("differs:", k, before.get(k), now.get(k))
    print(f"{len(now)} metrics, {len(bad)} differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
