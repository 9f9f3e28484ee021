"""Prompt templates: every user turn, instruction and judge prompt is a jinja2 file in ``prompts/``.

Templates render in jinja2's sandbox with ``StrictUndefined``, so a missing variable is an error
naming the template, never an empty string in a prompt.

What a task hashes into its provenance is what it used, not a list kept by hand: inside
:func:`recording`, every template rendered (with the templates it includes) and every data file a
scorer reads (:func:`note_resource`, e.g. a vocabulary of "unknown" phrasings) is noted.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jinja2
import jinja2.meta
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


@dataclass
class Used:
    """Templates rendered (names under ``prompts/``) and resources read (name -> SHA-256 prefix)."""

    templates: set[str] = field(default_factory=set)
    resources: dict[str, str] = field(default_factory=dict)


_ACTIVE: list[Used] = []


@contextmanager
def recording(used: Used | None = None) -> Iterator[Used]:
    """Note into ``used`` (a new :class:`Used` if None) what is rendered and read in the block."""
    target = used if used is not None else Used()
    _ACTIVE.append(target)
    try:
        yield target
    finally:
        _ACTIVE.pop()


def note_resource(name: str, sha256: str) -> None:
    """A data file that decides a score (not a template) was read: record ``name``'s hash."""
    for used in _ACTIVE:
        used.resources[name] = sha256


@functools.lru_cache(maxsize=256)
def _with_includes(name: str) -> frozenset[str]:
    """``name`` and every template it includes, imports or extends (recursively)."""
    env = environment()
    assert env.loader is not None
    source = env.loader.get_source(env, name)[0]
    out = {name}
    for ref in jinja2.meta.find_referenced_templates(env.parse(source)):
        if ref is not None and ref not in out:
            out |= _with_includes(ref)
    return frozenset(out)


def render(name: str, **context: Any) -> str:
    """Render ``prompts/<name>`` with ``context``; errors name the template and the variable."""
    if _ACTIVE:
        try:
            names = _with_includes(name)
        except jinja2.TemplateNotFound:
            names = frozenset({name})
        for used in _ACTIVE:
            used.templates |= names
    return _render(name, **context) if context else _render_fixed(name)


@functools.lru_cache(maxsize=256)
def _render_fixed(name: str) -> str:
    """A template rendered without variables (a prefix, an instruction): once per process."""
    return _render(name)


def _render(name: str, **context: Any) -> str:
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
