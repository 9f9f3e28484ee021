"""harness-ext: multi-turn behavioural evaluations for lm-evaluation-harness.

This module is imported at interpreter start-up by the ``harness_ext_autoload.pth`` hook that lets
plain ``lm_eval --tasks TASK`` find this package's tasks, so it imports nothing itself (not
even ``typing`` or ``pathlib``): every public function imports what it needs when called.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "prompts_path", "task_manager", "tasks_path"]


def tasks_path():  # type: ignore[no-untyped-def]
    """Folder with the lm-eval task YAML of every family (for ``--include_path``)."""
    from harness_ext.paths import tasks_path as _tasks_path

    return _tasks_path()


def prompts_path():  # type: ignore[no-untyped-def]
    """Folder with the jinja2 templates of every prompt."""
    from harness_ext.paths import prompts_path as _prompts_path

    return _prompts_path()


def task_manager(**kwargs):  # type: ignore[no-untyped-def]
    """An lm-eval ``TaskManager`` that knows this package's tasks (Python API).

    ``kwargs`` go to ``TaskManager``; this package's task folder is added to ``include_path``.
    """
    from lm_eval.tasks import TaskManager

    from harness_ext.discovery import with_our_tasks

    kwargs["include_path"] = with_our_tasks(kwargs.get("include_path"))
    return TaskManager(**kwargs)
