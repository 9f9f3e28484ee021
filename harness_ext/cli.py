"""The ``harness-ext`` command.

Exit codes of every subcommand: 0 success, 1 a regression (``compare`` only), 2 bad input,
refused comparison or invalid submission. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from harness_ext import __version__
from harness_ext.judging import cli as judging_cli
from harness_ext.paths import prompts_path, tasks_path
from harness_ext.probe import cli as probe_cli
from harness_ext.spt import cli as spt_cli

EPILOG = """\
examples:
  lm_eval --model hf --model_args pretrained=... --tasks TASKS --apply_chat_template \\
          --log_samples --output_path out/
  lm_eval ... --include_path "$(harness-ext tasks-path)"     # when HARNESS_EXT_AUTOLOAD=0
  lm_eval --model hf --model_args "$(harness-ext model-args smollm2)" --tasks TASKS \\
          --apply_chat_template --limit 20 --log_samples --output_path out/
  harness-ext compare results/reference/smollm2 out/        # CI gate: exit 1 on a real regression
  harness-ext submit out/ --to submission.json              # leaderboard entry
  harness-ext validate submission.json                      # exit 2 when invalid
  harness-ext leaderboard build submissions/ --out site/    # static HTML leaderboard
  harness-ext report out/ --out report/                     # HTML + PNG plots + conversations
"""

COMPARE_EPILOG = """\
BASELINE and CURRENT are lm-eval --output_path folders, model folders in them, or results_*.json
files (with --log_samples samples next to them). Documents are paired by their id.

exit codes: 0 no regression, 1 regression, 2 runs not comparable (task versions, data hashes,
prompt hashes, n-shot or document sets differ) or bad input.

examples:
  harness-ext compare results/reference/smollm2 out/
  harness-ext compare base/ cur/ --min-effect apology_rate=0.03 --min-effect 'bias_score_*=0.1' \\
          --json delta.json --markdown delta.md
  harness-ext compare base/ cur/ --tasks TASK1,TASK2 --min-effect-default 0.02
"""

SUBMIT_EPILOG = """\
examples:
  harness-ext submit out/ --to submissions/my-model.json
  harness-ext submit out/ --to eee.json --format every_eval_ever
"""

VALIDATE_EPILOG = """\
Rejects partial runs (--limit), non-canonical data or prompts, tampered or inconsistent files.
exit codes: 0 valid, 2 invalid (each reason on its own line).

example:
  harness-ext validate submissions/my-model.json
"""

LEADERBOARD_EPILOG = """\
example:
  harness-ext leaderboard build submissions/ --out site/    # then open site/index.html
"""

REPORT_EPILOG = """\
Writes index.html (metrics with 95% CIs, plots), one conversations page per task, PNG plots and
the CSV/JSON behind each plot.

example:
  harness-ext report out/ --out report/ && xdg-open report/index.html
"""


def _sub(sub: argparse._SubParsersAction, name: str, help: str, epilog: str) -> argparse.ArgumentParser:
    return sub.add_parser(
        name, help=help, description=help, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="harness-ext",
        description="Tools for the harness-ext lm-eval task families.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"harness-ext {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("tasks-path", help="print the folder of task YAML (for lm_eval --include_path)")
    sub.add_parser("prompts-path", help="print the folder of prompt templates")
    m = sub.add_parser(
        "model-args",
        help="print lm_eval --model_args for an embedded offline model",
        description="Print the --model_args string that loads an embedded model (shipped in a PyPI "
        "package, no download) with lm-eval's hf backend.",
    )
    m.add_argument(
        "name",
        nargs="?",
        default="smollm2",
        choices=["smollm2", "gemma3"],
        help="smollm2: SmolLM2-135M-Instruct (chat, default); gemma3: gemma-3-270m (base)",
    )
    m.add_argument(
        "--no-cache",
        action="store_true",
        help="point at the GGUF file instead of the converted safetensors folder (no conversion)",
    )
    from harness_ext.embedded import add_cache_parser

    add_cache_parser(sub)

    c = _sub(sub, "compare", "paired regression test of CURRENT against BASELINE (CI gate)", COMPARE_EPILOG)
    c.add_argument("baseline", help="baseline run folder or results_*.json")
    c.add_argument("current", help="current run folder or results_*.json")
    c.add_argument("--tasks", help="comma-separated tasks to compare (default: all, which must match)")
    c.add_argument(
        "--min-effect",
        action="append",
        default=[],
        metavar="METRIC=X",
        help="minimum harmful change that fails the gate, per metric (fnmatch pattern); repeatable",
    )
    c.add_argument(
        "--min-effect-default", type=float, default=None, help="minimum effect for unlisted metrics (0.05)"
    )
    c.add_argument("--alpha", type=float, default=0.05, help="family-wise error rate after Holm (0.05)")
    c.add_argument("--iters", type=int, default=10_000, help="paired bootstrap replicates (10000)")
    c.add_argument("--seed", type=int, default=20240917, help="bootstrap seed")
    c.add_argument("--json", type=Path, metavar="FILE", help="also write the comparison as JSON")
    c.add_argument("--markdown", type=Path, metavar="FILE", help="also write the Markdown table to FILE")

    s = _sub(sub, "submit", "write a leaderboard submission from a run", SUBMIT_EPILOG)
    s.add_argument("run_dir", help="lm-eval --output_path folder (run with --log_samples) or results file")
    s.add_argument("--to", type=Path, required=True, metavar="FILE", help="submission JSON to write")
    s.add_argument(
        "--format",
        choices=["harness-ext", "every_eval_ever"],
        default="harness-ext",
        help="harness-ext (validated by the leaderboard; default) or the every_eval_ever schema",
    )

    v = _sub(sub, "validate", "recompute and check a submission", VALIDATE_EPILOG)
    v.add_argument("file", type=Path, help="submission JSON written by 'harness-ext submit'")

    lb = _sub(sub, "leaderboard", "static HTML leaderboard from submissions", LEADERBOARD_EPILOG)
    lbsub = lb.add_subparsers(dest="action", metavar="ACTION", required=True)
    b = _sub(lbsub, "build", "validate every submission in DIR and render the site", LEADERBOARD_EPILOG)
    b.add_argument("dir", type=Path, help="folder of submission JSON files")
    b.add_argument("--out", type=Path, required=True, metavar="SITE_DIR", help="folder to write the site to")

    r = _sub(sub, "report", "HTML report with plots and per-example conversations", REPORT_EPILOG)
    r.add_argument("run_dir", help="lm-eval --output_path folder (run with --log_samples) or results file")
    r.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the report to")
    r.add_argument("--max-examples", type=int, default=1000, help="conversations shown per task (1000)")
    probe_cli.add_parser(sub)
    for module in family_commands():
        module.add_parser(sub)
    spt_cli.add_parser(sub)
    judging_cli.add_parser(sub)
    return p


def family_commands() -> list[ModuleType]:
    """The command modules the installed families declare (``Family.commands``)."""
    from harness_ext.registry import families

    return [importlib.import_module(m) for f in families().values() for m in f.commands]


def _compare(args: argparse.Namespace) -> int:
    from harness_ext import compare
    from harness_ext.runs import load_run

    overrides = compare.parse_min_effects(args.min_effect)
    default = compare.DEFAULT_MIN_EFFECT if args.min_effect_default is None else args.min_effect_default
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None
    comp = compare.compare_runs(
        load_run(args.baseline),
        load_run(args.current),
        tasks=tasks,
        min_effect=overrides,
        default_min_effect=default,
        alpha=args.alpha,
        iters=args.iters,
        seed=args.seed,
    )
    md = compare.to_markdown(comp)
    print(md, end="")
    if args.json:
        args.json.write_text(compare.to_json(comp), encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(md, encoding="utf-8")
    return comp.exit_code


def _submit(args: argparse.Namespace) -> int:
    from harness_ext.submit import write_submission

    path = write_submission(args.run_dir, args.to, args.format)
    print(f"wrote {path}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from harness_ext.validate import validate_file

    reasons = validate_file(args.file)
    if reasons:
        print(f"{args.file}: invalid submission", file=sys.stderr)
        for r in reasons:
            print(f"  - {r}", file=sys.stderr)
        return 2
    print(f"{args.file}: valid")
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from harness_ext.leaderboard.build import build_site

    site = build_site(args.dir, args.out)
    print(f"wrote {site.index} ({len(site.accepted)} submissions, {len(site.rejected)} rejected)")
    for name, reason in site.rejected:
        print(f"rejected {name}: {reason}", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from harness_ext.report.build import build_report

    index = build_report(args.run_dir, args.out, max_examples=args.max_examples)
    print(f"wrote {index}")
    return 0


def _run_cache(args: argparse.Namespace) -> int:
    from harness_ext.embedded import run_cache

    return run_cache(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "compare": _compare,
    "submit": _submit,
    "validate": _validate,
    "leaderboard": _leaderboard,
    "report": _report,
    "cache": _run_cache,
    "probe": probe_cli.run,
    **dict.fromkeys(spt_cli.COMMANDS, spt_cli.run),
    "judge": judging_cli.run,
    "score": judging_cli.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "tasks-path":
        print(tasks_path())
        return 0
    if args.command == "prompts-path":
        print(prompts_path())
        return 0
    if args.command == "model-args":
        from harness_ext.embedded import model_args

        try:
            print(model_args(args.name, cache=not args.no_cache))
        except (FileNotFoundError, ValueError) as e:
            print(f"harness-ext: {e}", file=sys.stderr)
            return 2
        return 0
    handler = COMMANDS.get(args.command or "") or next(
        (m.run for m in family_commands() if args.command in m.COMMANDS), None
    )
    if handler is None:
        parser.print_help()
        return 0
    try:
        return handler(args)
    except (ValueError, LookupError, OSError) as e:  # RunError, Incomparable, RegistryError ...
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, OSError) and e.filename and str(e.filename) not in msg:
            msg = f"{e.filename}: {msg}"
        print(f"harness-ext {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
