"""The jinja2 environment of the HTML pages (``harness_ext/report/templates``; autoescaped)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"


def fmt(x: Any, digits: int = 3) -> str:
    """A number for a table cell: fixed digits, ``n/a`` for undefined."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, (int, float)):
        return f"{x:.{digits}f}"
    return str(x)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = fmt
    return env


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
