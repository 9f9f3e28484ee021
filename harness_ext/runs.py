"""Load an lm-eval run: its ``results_*.json`` and, per harness-ext task, the logged samples.

``lm_eval --output_path out/ --log_samples`` writes ``out/<model>/results_<ts>.json`` and
``out/<model>/samples_<task>_<ts>.jsonl``. :func:`load_run` accepts ``out/``, ``out/<model>/`` or
the results file itself. A harness-ext task is one whose config carries ``metadata.provenance``
(written by :class:`harness_ext.dialogue.task.DialogueTask`); other tasks of the run are listed in
:attr:`Run.skipped`. In each sample line every metric name maps to the same per-sample record.

Every problem is a :class:`RunError` whose message is one line naming the file (and line).
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from harness_ext.data.io import DataError, read_jsonl
from harness_ext.metrics.core import (
    CLUSTER_KEY,
    DEFAULT_ITERS,
    DEFAULT_SEED,
    Metric,
    PairedChange,
    paired_change,
)
from harness_ext.registry import RegistryError, metrics_for_task


class RunError(ValueError):
    """A results folder or file that cannot be used; the message is one line."""


@dataclass
class Sample:
    """One logged document: its stable key, the scorer's record and the conversation."""

    key: str
    doc_id: int
    record: dict[str, Any]
    transcript: list[dict[str, Any]]
    doc: dict[str, Any]
    doc_hash: str
    prompt_hash: str


@dataclass
class TaskRun:
    """One harness-ext task of a run."""

    name: str
    config: dict[str, Any]
    version: Any
    n_shot: Any
    n_samples: dict[str, int]
    reported: dict[str, float]
    higher_is_better: dict[str, bool]
    samples: list[Sample] = field(default_factory=list)
    samples_path: Path | None = None

    @property
    def provenance(self) -> dict[str, Any]:
        return dict((self.config.get("metadata") or {}).get("provenance") or {})

    @property
    def records(self) -> list[dict[str, Any]]:
        return [s.record for s in self.samples]

    @cached_property
    def metrics(self) -> tuple[Metric, ...]:
        """The task's metrics; reported metric names with no definition are an error."""
        try:
            found = metrics_for_task(self.name, self.config)
        except RegistryError as e:
            raise RunError(str(e)) from None
        missing = sorted(set(self.reported) - {m.name for m in found})
        if missing:
            raise RunError(f"task {self.name!r}: no definition for reported metric(s) {', '.join(missing)}")
        return found


@dataclass
class Run:
    """A results file, its harness-ext tasks and the run-wide settings."""

    path: Path
    results: dict[str, Any]
    tasks: dict[str, TaskRun]
    skipped: list[str]

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.results.get("config") or {})

    @property
    def model_name(self) -> str:
        return str(self.results.get("model_name") or self.config.get("model") or "unknown")


def find_results_file(path: str | Path) -> Path:
    """The results file of ``path``: itself, or the newest ``results_*.json`` in it or one level down."""
    p = Path(path)
    if p.is_file():
        return p
    if not p.exists():
        raise RunError(f"{p}: no such file or folder")
    here = sorted(p.glob("results_*.json"))
    if here:
        return here[-1]
    below = sorted(p.glob("*/results_*.json"))
    folders = sorted({f.parent for f in below})
    if len(folders) > 1:
        names = ", ".join(str(f) for f in folders)
        raise RunError(f"{p}: results of several models ({names}); pass one of these folders")
    if below:
        return below[-1]
    raise RunError(f"{p}: no results_*.json here or one folder down (was lm_eval run with --output_path?)")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RunError(f"{path}: not a text file, expected an lm-eval results JSON") from None
    except json.JSONDecodeError as e:
        raise RunError(f"{path}:{e.lineno}: not valid JSON ({e.msg}); truncated?") from None
    except OSError as e:
        raise RunError(f"{path}: cannot read ({e.strerror})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def _samples_file(results_path: Path, task: str) -> Path | None:
    stamp = results_path.stem.removeprefix("results_")
    exact = results_path.parent / f"samples_{task}_{stamp}.jsonl"
    if exact.is_file():
        return exact
    # A renamed results file (e.g. a committed baseline): the task's only / newest samples file.
    # ``samples_<task>_<ts>``: the glob would also match ``<task>_xyz`` tasks; keep exact ones.
    cands = [
        c
        for c in sorted(results_path.parent.glob(f"samples_{task}_*.jsonl"))
        if c.stem[len(f"samples_{task}_") :][:1].isdigit()
    ]
    return cands[-1] if cands else None


def doc_key(doc: Any, fallback: Any) -> str:
    """The stable key of a logged document: its ``id``, else ``fallback`` (lm-eval's doc hash or index)."""
    if isinstance(doc, dict) and isinstance(doc.get("id"), (str, int)) and not isinstance(doc["id"], bool):
        return str(doc["id"])
    return str(fallback)


def paired_change_of_samples(
    samples_a: Sequence[Mapping[str, Any]],
    samples_b: Sequence[Mapping[str, Any]],
    metric_a: Metric,
    metric_b: Metric | None = None,
    iters: int = DEFAULT_ITERS,
    seed: int = DEFAULT_SEED,
) -> PairedChange:
    """:func:`harness_ext.metrics.core.paired_change` over two tasks' lm-eval logged samples
    (``res["samples"][task]`` of ``simple_evaluate(..., log_samples=True)``): documents paired by
    :func:`doc_key`, each sample's record being its metric column that holds the per-sample dict."""

    def keyed(samples: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
        out = {}
        for s in samples:
            key = doc_key(s.get("doc"), s.get("doc_id"))
            rec = next((v for v in s.values() if isinstance(v, Mapping) and CLUSTER_KEY in v), None)
            if rec is None:
                raise ValueError(f"sample of doc {key!r}: no per-sample record (a dict with {CLUSTER_KEY!r})")
            out[key] = rec
        return out

    return paired_change(keyed(samples_a), keyed(samples_b), metric_a, metric_b, iters=iters, seed=seed)


def _message(m: Any) -> dict[str, Any]:
    """A transcript entry: a dict, its JSON string (the engine's encoding) or its Python repr."""
    if isinstance(m, dict):
        return m
    if isinstance(m, str) and m.startswith("{"):
        val: Any = None
        try:
            val = json.loads(m)
        except json.JSONDecodeError:
            try:
                val = ast.literal_eval(m)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                val = None
        if isinstance(val, dict):
            return val
    return {"role": "?", "content": str(m), "name": "", "kind": ""}


def read_samples(path: Path, metric_names: list[str], expected: int | None) -> list[Sample]:
    """Parse a ``samples_<task>_<ts>.jsonl`` file; every line must carry a per-sample record."""
    out: list[Sample] = []
    seen: dict[str, int] = {}
    try:
        rows = list(read_jsonl(path))
    except DataError as e:
        raise RunError(f"{e}; is the file truncated?") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunError(f"{path}: cannot read ({e})") from None
    for n, s in rows:
        rec = next((s[m] for m in metric_names if isinstance(s.get(m), dict)), None)
        if rec is None:
            raise RunError(f"{path}:{n}: no per-sample record under any of {metric_names[:3]}...")
        key = doc_key(s.get("doc"), s.get("doc_hash"))
        if key in seen:
            raise RunError(f"{path}:{n}: document {key!r} already logged on line {seen[key]}")
        seen[key] = n
        resps = s.get("resps") or [[]]
        raw = resps[0][0] if resps and resps[0] and isinstance(resps[0][0], list) else []
        transcript = [_message(m) for m in raw]
        out.append(
            Sample(
                key=key,
                doc_id=int(s.get("doc_id", n - 1)),
                record=rec,
                transcript=transcript,
                doc=doc if isinstance(doc := s.get("doc"), dict) else {},
                doc_hash=str(s.get("doc_hash", "")),
                prompt_hash=str(s.get("prompt_hash", "")),
            )
        )
    if expected is not None and len(out) != expected:
        raise RunError(
            f"{path}: {len(out)} samples, but the results file says {expected}; truncated or from another run?"
        )
    return out


def _reported(block: dict[str, Any]) -> dict[str, float]:
    vals: dict[str, float] = {}
    for k, v in block.items():
        name, _, filt = k.partition(",")
        if filt and not name.endswith("_stderr") and isinstance(v, (int, float)):
            vals[name] = float(v)
        elif filt and not name.endswith("_stderr") and v in ("N/A", None):
            vals[name] = math.nan
    return vals


def load_run(path: str | Path, with_samples: bool = True) -> Run:
    """Read a run; with ``with_samples`` every harness-ext task's samples file must be there."""
    rpath = find_results_file(path)
    data = _read_json(rpath)
    for key in ("results", "configs"):
        if not isinstance(data.get(key), dict):
            raise RunError(f"{rpath}: not an lm-eval results file (no '{key}' object)")
    tasks: dict[str, TaskRun] = {}
    skipped: list[str] = []
    for name, cfg in data["configs"].items():
        meta = (cfg or {}).get("metadata") if isinstance(cfg, dict) else None
        if not (isinstance(meta, dict) and isinstance(meta.get("provenance"), dict)):
            skipped.append(name)
            continue
        hib = dict((data.get("higher_is_better") or {}).get(name) or {})
        task = TaskRun(
            name=name,
            config=cfg,
            version=(data.get("versions") or {}).get(name),
            n_shot=(data.get("n-shot") or {}).get(name),
            n_samples=dict((data.get("n-samples") or {}).get(name) or {}),
            reported=_reported(data["results"].get(name) or {}),
            higher_is_better=hib,
        )
        if with_samples:
            sp = _samples_file(rpath, name)
            if sp is None:
                raise RunError(
                    f"{rpath}: no samples_{name}_*.jsonl next to it; rerun lm_eval with --log_samples"
                )
            names = list(hib) or list(task.reported)
            task.samples = read_samples(sp, names, task.n_samples.get("effective"))
            task.samples_path = sp
        tasks[name] = task
    if not tasks:
        raise RunError(f"{rpath}: no harness-ext tasks in this results file (tasks: {', '.join(skipped)})")
    return Run(path=rpath, results=data, tasks=tasks, skipped=skipped)


def _model_of(run: Run) -> Any:
    """The weights a run used (see :func:`harness_ext.embedded.model_identity`), else its model name."""
    from harness_ext.embedded import model_identity

    return model_identity(run.config.get("model_args")) or (run.model_name, run.config.get("model_args"))


def load_model_runs(path: str | Path, with_samples: bool = True) -> Run:
    """Like :func:`load_run`, and also a folder of several runs of ONE model (e.g. one per family).

    ``results/smollm2/`` holding one folder per family is read as one run with the tasks of all of
    them; runs of different models
    (``model_name`` or ``model_args`` differ) or the same task in two runs are refused.
    """
    p = Path(path)
    folders = sorted({f.parent for f in p.glob("*/results_*.json")}) if p.is_dir() else []
    if not p.is_dir() or any(p.glob("results_*.json")) or len(folders) < 2:
        return load_run(p, with_samples)
    runs = [load_run(f, with_samples) for f in folders]
    first = runs[0]
    model = _model_of(first)
    tasks: dict[str, TaskRun] = {}
    for run in runs:
        if _model_of(run) != model:
            names = ", ".join(str(f) for f in folders)
            raise RunError(f"{p}: results of several models ({names}); pass one of these folders")
        for name, task in run.tasks.items():
            if name in tasks:
                raise RunError(f"{p}: task {name!r} in two runs ({first.path.parent}, {run.path.parent})")
            tasks[name] = task
    return Run(path=p, results=first.results, tasks=tasks, skipped=[s for r in runs for s in r.skipped])
