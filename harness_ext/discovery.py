"""Teach lm-eval's ``TaskManager`` where this package's tasks are.

lm-eval 0.4.13 scans only its own ``tasks/`` folder and ``--include_path``; it has no task entry
point. ``patch_task_manager`` (called by the start-up hook in ``_autoload``) wraps
``TaskManager.__init__`` so our folder is always in ``include_path`` unless
``HARNESS_EXT_AUTOLOAD=0``.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

from harness_ext._autoload import enabled
from harness_ext.paths import tasks_path


def with_our_tasks(include_path: Any) -> list[str]:
    """``include_path`` (None, a path, a ``:``-separated string or a list) plus our task folder."""
    if include_path is None:
        paths: list[str] = []
    elif isinstance(include_path, (list, tuple)):
        paths = [str(p) for p in include_path]
    else:
        paths = [p for p in str(include_path).split(":") if p]
    ours = tasks_path().resolve()
    if not any(Path(p).resolve() == ours for p in paths):
        paths.append(str(ours))
    return paths


def patch_task_manager(cls: type) -> None:
    """Wrap ``cls.__init__`` to add our tasks to ``include_path``; idempotent."""
    original = cls.__dict__["__init__"]
    if getattr(original, "_harness_ext", False):
        return
    sig = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if enabled():
            bound = sig.bind(self, *args, **kwargs)
            bound.arguments["include_path"] = with_our_tasks(bound.arguments.get("include_path"))
            args, kwargs = bound.args[1:], bound.kwargs
        original(self, *args, **kwargs)

    __init__._harness_ext = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]
