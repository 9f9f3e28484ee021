"""Shared input handling: JSONL reading with errors that name file, line and field."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("harness_ext")

BUNDLED = Path(__file__).resolve().parent / "bundled"


class DataError(ValueError):
    """A record that does not fit its schema; the message names file, line and field."""

    def __init__(self, path: str | Path, line: int, problem: str):
        super().__init__(f"{path}:{line}: {problem}")
        self.path, self.line, self.problem = str(path), line, problem


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)``; bare ``NaN`` is accepted (Python's json reads it)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"data file not found: {p}")
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(p, n, f"not valid JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(rec, dict):
                raise DataError(p, n, f"expected a JSON object, found {type(rec).__name__}")
            yield n, rec


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def require(rec: dict[str, Any], key: str, kind: type | tuple[type, ...], path: str | Path, line: int) -> Any:
    """``rec[key]`` if present and of type ``kind``, else a :class:`DataError`."""
    if key not in rec:
        raise DataError(path, line, f"missing field '{key}'")
    val = rec[key]
    if not isinstance(val, kind) or (isinstance(val, float) and val != val):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(path, line, f"field '{key}': expected {want}, found {val!r:.60}")
    return val


def interleave(groups: list[list[Any]]) -> list[Any]:
    """Round-robin over ``groups`` (first of each, then second of each, ...).

    Bundled files are stored in this order so that lm-eval's ``--limit N`` (the first N documents)
    is a balanced subset across categories, not the first category only.
    """
    out: list[Any] = []
    for i in range(max((len(g) for g in groups), default=0)):
        out.extend(g[i] for g in groups if i < len(g))
    return out
