"""Canonical data and prompt hashes of the leaderboard tasks (``canonical.json``).

A leaderboard entry must be a run over the bundled, project-written data with this package's
prompts, so entries are comparable. ``canonical.json`` holds, per task, its version, document
count, the accepted ``data_sha256`` values and the ``prompt_sha256`` of its templates, exactly as
:meth:`harness_ext.dialogue.task.DialogueTask.provenance` writes them into results files.
Regenerate after changing bundled data, templates or task versions::

    python -m harness_ext.leaderboard.canonical            # rewrites harness_ext/leaderboard/canonical.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CANONICAL = Path(__file__).resolve().parent / "canonical.json"


def load_canonical(path: Path = CANONICAL) -> dict[str, Any]:
    """The canonical table (``{}`` when the file is missing)."""
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")))


def compute(tasks: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Build every leaderboard task (default: every family's ``Family.leaderboard``) on its default
    (bundled) data and read its provenance."""
    from lm_eval.tasks import get_task_dict

    import harness_ext
    from harness_ext.registry import leaderboard_tasks

    tasks = leaderboard_tasks() if tasks is None else tasks

    found: dict[str, Any] = {}

    def walk(d: Any) -> None:
        for key, val in d.items():
            if isinstance(val, dict):
                walk(val)
                continue
            meta = val.config.metadata if isinstance(val.config.metadata, dict) else {}
            prov = meta.get("provenance")
            if prov:
                name = getattr(key, "group_name", None) or str(getattr(val.config, "task", key))
                found[name] = {
                    "version": meta.get("version"),
                    "n_docs": prov["n_docs"],
                    "data_sha256": [prov["data_sha256"]],
                    "prompt_sha256": prov["prompt_sha256"],
                }

    walk(get_task_dict(list(tasks), harness_ext.task_manager()))
    return dict(sorted(found.items()))


def main() -> int:
    table = compute()
    CANONICAL.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {CANONICAL} ({len(table)} tasks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
