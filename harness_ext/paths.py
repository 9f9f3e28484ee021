"""Where the task YAML and prompt templates live: inside the wheel, or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _resource(name: str) -> Path:
    packaged = _PKG / "_resources" / name  # built wheel (see pyproject's force-include)
    if packaged.is_dir():
        return packaged
    return _PKG.parent / name  # source checkout / editable install


def tasks_path() -> Path:
    """Folder with the lm-eval task YAML of every family (for ``--include_path``)."""
    return _resource("tasks")


def prompts_path() -> Path:
    """Folder with the jinja2 templates of every user turn, instruction and judge prompt."""
    return _resource("prompts")
