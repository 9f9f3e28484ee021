"""harness-ext: multi-turn behavioural evaluations for lm-evaluation-harness.

Importing this package is cheap (no lm_eval, torch or transformers import): it is imported at
interpreter start-up by the ``harness_ext_autoload.pth`` hook that makes plain ``lm_eval --tasks
sycophancy_challenge`` find the tasks.
"""

from __future__ import annotations

from typing import Any

from harness_ext.paths import prompts_path, tasks_path

__version__ = "0.1.0"

__all__ = ["__version__", "prompts_path", "task_manager", "tasks_path"]


def task_manager(**kwargs: Any) -> Any:
    """An lm-eval ``TaskManager`` that knows this package's tasks (Python API).

    ``kwargs`` go to ``TaskManager``; this package's task folder is added to ``include_path``.
    """
    from lm_eval.tasks import TaskManager

    from harness_ext.discovery import with_our_tasks

    kwargs["include_path"] = with_our_tasks(kwargs.get("include_path"))
    return TaskManager(**kwargs)
