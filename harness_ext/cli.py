"""The ``harness-ext`` command."""

from __future__ import annotations

import argparse
import sys

from harness_ext import __version__
from harness_ext.paths import prompts_path, tasks_path

EPILOG = """\
examples:
  lm_eval --model hf --model_args pretrained=... --tasks sycophancy_challenge --apply_chat_template
  lm_eval ... --include_path "$(harness-ext tasks-path)"     # when HARNESS_EXT_AUTOLOAD=0
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="harness-ext",
        description="Tools for the harness-ext lm-eval tasks (sycophancy, self-correction, over-refusal).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"harness-ext {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("tasks-path", help="print the folder of task YAML (for lm_eval --include_path)")
    sub.add_parser("prompts-path", help="print the folder of prompt templates")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "tasks-path":
        print(tasks_path())
        return 0
    if args.command == "prompts-path":
        print(prompts_path())
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
