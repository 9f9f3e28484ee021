"""Prompt templates: every user turn, instruction and judge prompt is a jinja2 file in ``prompts/``.

Templates render in jinja2's sandbox with ``StrictUndefined``, so a missing variable is an error
naming the template, never an empty string in a prompt.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from harness_ext.paths import prompts_path


@functools.lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(prompts_path())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(name: str, **context: Any) -> str:
    """Render ``prompts/<name>`` with ``context``; errors name the template and the variable."""
    try:
        return environment().get_template(name).render(**context)
    except jinja2.TemplateNotFound as e:
        raise FileNotFoundError(f"prompt template not found: {prompts_path() / name}") from e
    except jinja2.UndefinedError as e:
        raise ValueError(f"{prompts_path() / name}: {e.message}") from e


def template_hash(names: Iterable[str]) -> dict[str, str]:
    """SHA-256 (first 16 hex digits) of each template's source, for provenance in results."""
    out = {}
    for name in sorted(set(names)):
        src = (prompts_path() / name).read_bytes()
        out[name] = hashlib.sha256(src).hexdigest()[:16]
    return out
