"""``harness-ext craft-select RUN_DIR --tau T``: CRaFT's vanilla / IdK training split as JSONL.

Reads the ``refusal_overrate_craft`` samples of a run (the certainty read-out of every question),
computes CRaFT's Cor and Cer per question and applies the selection of
:func:`harness_ext.metrics.certainty.craft_select`. Where the paper and its released code differ:

- knowledge flow: the paper keeps IdK candidates with ``dCor < 0``; the released ``mmlu_RAI.py``
  drops only ``dCor > 0``. We follow the code. Without ``--rehearsal`` (the run of the rehearsed
  model) there is no knowledge flow and the rule is Cor + Cer only (the paper's "CorCer-RAIT").
- sizes: the paper states vanilla:IdK = 1:4; the released configs are ``Idk1000_van4000`` and
  ``Idk2000_van8000`` (4:1). ``--n-van`` / ``--n-idk`` set them; by default every candidate is kept.
- the code fills a short split by sampling with replacement (seed 42); we never duplicate samples
  and report the shortfall instead.
- CRaFT queries knowledge 5-shot; the task's read-out is 0-shot with the basic prompt.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TASK = "refusal_overrate_craft"
#: The ``harness-ext`` commands this module adds (:attr:`harness_ext.family.Family.commands`).
COMMANDS = ("craft-select",)

EPILOG = """\
examples:
  harness-ext craft-select results/smollm2/refusal_overrate --tau 0.5 --out craft_split.jsonl
  harness-ext craft-select init_run/ --rehearsal rehearsed_run/ --n-van 4000 --n-idk 1000 --out split.jsonl
"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "craft-select",
        help="CRaFT's vanilla/IdK split of a refusal_overrate_craft run as JSONL",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "run_dir", help="lm-eval --output_path folder (with --log_samples) holding refusal_overrate_craft"
    )
    p.add_argument("--tau", type=float, default=0.5, help="correctness threshold: vanilla Cor >= tau (0.5)")
    p.add_argument("--rehearsal", help="run of the rehearsed model (same questions): enables the dCor rule")
    p.add_argument("--n-van", type=int, default=None, help="vanilla samples kept, most certain first (all)")
    p.add_argument("--n-idk", type=int, default=None, help="IdK samples kept, least certain first (all)")
    p.add_argument("--task", default=TASK, help=f"task name in the run ({TASK})")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="JSONL file to write")
    return p


def _task(run_dir: str, name: str) -> Any:
    from harness_ext.runs import RunError, load_run

    run = load_run(run_dir)
    if name not in run.tasks:
        raise RunError(f"{run.path}: no task {name!r} (tasks: {', '.join(run.tasks)})")
    return run.tasks[name]


def run(args: argparse.Namespace) -> int:
    from harness_ext.metrics.certainty import craft_select, question_rows
    from harness_ext.runs import RunError

    rows = question_rows(_task(args.run_dir, args.task).samples)
    if not rows:
        raise RunError(f"{args.run_dir}: task {args.task!r} has no certainty read-outs")
    rehearsal = None
    if args.rehearsal:
        rehearsal = {r.qid: r.cor for r in question_rows(_task(args.rehearsal, args.task).samples)}
    chosen = craft_select(rows, tau=args.tau, n_van=args.n_van, n_idk=args.n_idk, rehearsal=rehearsal)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for row in chosen:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = {s: sum(r["split"] == s for r in chosen) for s in ("vanilla", "idk")}
    print(f"wrote {args.out}: {counts['vanilla']} vanilla, {counts['idk']} idk of {len(rows)} questions")
    for split, want in (("vanilla", args.n_van), ("idk", args.n_idk)):
        if want is not None and counts[split] < want:
            print(
                f"note: {split} has {counts[split]} candidates, fewer than the {want} asked", file=sys.stderr
            )
    return 0
