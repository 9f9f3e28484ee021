"""Leaderboard submissions: one JSON file per run, self-contained and checkable.

A submission holds who and how (model id, revision/sha, dtype, versions, generation settings,
seeds, chat-template hash), what (per task: version, n-shot, document counts, provenance with data
and prompt hashes), the metrics with bootstrap CIs recomputed from the samples by
:func:`harness_ext.metrics.core.estimate`, and the per-sample records themselves (gzip + base64
of canonical JSON) with their sha256 digest, so ``harness-ext validate`` can recompute everything.

``--format every_eval_ever`` writes the every_eval_ever schema (v0.2.1, ``eval.schema.json`` of
github.com/evaleval/every_eval_ever) instead; see :func:`to_every_eval_ever` for the mapping.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import time
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from harness_ext import __version__
from harness_ext.metrics.core import DEFAULT_ITERS, DEFAULT_SEED, estimate
from harness_ext.runs import Run, TaskRun, load_run

FORMAT = "harness-ext-submission/1"
EEE_SCHEMA_VERSION = "0.2.1"


def canonical_json(obj: Any) -> bytes:
    """The bytes that are hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def pack_records(records: dict[str, list[list[Any]]]) -> tuple[str, str]:
    """``(base64 of gzip of canonical JSON, sha256 of canonical JSON)``; gzip mtime fixed at 0."""
    raw = canonical_json(records)
    return base64.b64encode(gzip.compress(raw, mtime=0)).decode("ascii"), hashlib.sha256(raw).hexdigest()


def unpack_records(data: str) -> tuple[dict[str, list[list[Any]]], str]:
    """Inverse of :func:`pack_records`: records and the sha256 of their canonical JSON."""
    raw = gzip.decompress(base64.b64decode(data.encode("ascii"), validate=True))
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


def parse_model_args(model_args: Any) -> dict[str, str]:
    """lm-eval ``model_args`` (``"a=1,b=2"`` or a dict) as a dict of strings."""
    if isinstance(model_args, dict):
        return {str(k): str(v) for k, v in model_args.items()}
    out: dict[str, str] = {}
    for part in str(model_args or "").split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


def _finite(x: float) -> float | None:
    return None if math.isnan(x) or math.isinf(x) else x


def metric_entry(task: TaskRun, iters: int, seed: int) -> dict[str, dict[str, Any]]:
    """Every metric of a task with its bootstrap interval, recomputed from the records."""
    out = {}
    for m in (m for m in task.metrics if m.leaderboard):
        iv = estimate(m, task.records, iters=iters, seed=seed)
        out[m.name] = {
            "value": _finite(iv.value),
            "stderr": _finite(iv.stderr),
            "ci_low": _finite(iv.low),
            "ci_high": _finite(iv.high),
            "n": iv.n,
            "higher_is_better": m.higher_is_better,
            "reported": _finite(task.reported.get(m.name, math.nan)),
            "description": m.description,
            "range": [m.lo, m.hi],
        }
    return out


def _model(run: Run) -> dict[str, Any]:
    cfg = run.config
    args = parse_model_args(cfg.get("model_args"))
    ident = args.get("pretrained") or args.get("model") or args.get("path") or run.model_name
    return {
        "id": ident,
        "name": run.model_name,
        "backend": str(cfg.get("model", "")),
        "model_args": args,
        "revision": cfg.get("model_revision") or args.get("revision"),
        "sha": cfg.get("model_sha"),
        "dtype": cfg.get("model_dtype") or args.get("dtype"),
        "num_parameters": cfg.get("model_num_parameters"),
    }


def _version(dist: str) -> str:
    try:
        return importlib_metadata.version(dist)
    except importlib_metadata.PackageNotFoundError:
        return "unknown"


def build_submission(run: Run, iters: int = DEFAULT_ITERS, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The submission of a loaded run (samples required)."""
    res, cfg = run.results, run.config
    tasks: dict[str, Any] = {}
    records: dict[str, list[list[Any]]] = {}
    for name, t in sorted(run.tasks.items()):
        tasks[name] = {
            "version": t.version,
            "n_shot": t.n_shot,
            "n_samples": t.n_samples,
            "provenance": t.provenance,
            "metadata": {k: v for k, v in (t.config.get("metadata") or {}).items() if k != "provenance"},
            "generation_kwargs": t.config.get("generation_kwargs"),
            "metrics": metric_entry(t, iters, seed),
        }
        records[name] = [[s.key, s.record] for s in t.samples]
    blob, digest = pack_records(records)
    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": _model(run),
        "software": {
            "harness_ext": __version__,
            "lm_eval": res.get("lm_eval_version") or _version("lm_eval"),
            "transformers": res.get("transformers_version"),
            "lm_eval_git_hash": res.get("git_hash"),
        },
        "run": {
            "limit": cfg.get("limit"),
            "gen_kwargs": cfg.get("gen_kwargs"),
            "batch_size": cfg.get("batch_size"),
            "seeds": {k: cfg.get(k) for k in ("random_seed", "numpy_seed", "torch_seed", "fewshot_seed")},
            "chat_template_sha": res.get("chat_template_sha"),
            "system_instruction_sha": res.get("system_instruction_sha"),
            "fewshot_as_multiturn": res.get("fewshot_as_multiturn"),
            "evaluation_date": res.get("date"),
        },
        "bootstrap": {"iters": iters, "seed": seed, "alpha": 0.05},
        "tasks": tasks,
        "records": {
            "encoding": "gzip+base64 of canonical JSON {task: [[doc_key, record], ...]}",
            "data": blob,
        },
        "records_sha256": digest,
    }


def to_every_eval_ever(sub: dict[str, Any]) -> dict[str, Any]:
    """The submission in the every_eval_ever schema (v0.2.1).

    Mapping: ``model_info.id`` = model id (``pretrained=``), ``name`` = lm-eval model name,
    ``inference_platform`` = lm-eval backend; ``eval_library`` = lm_eval + version (harness-ext
    version in ``additional_details``); one ``evaluation_results`` entry per task x metric, named
    ``<task>/<metric>``, ``source_data`` of type ``other`` with the data hash and source,
    ``metric_config.lower_is_better`` = not higher_is_better, ``score_type`` continuous on the
    metric's range (``Metric.lo``, ``Metric.hi``; [0, 1] for older submissions), ``score_details.uncertainty`` = bootstrap standard error and
    percentile 95% interval; ``dedupe_identity.content_hash`` = the records' sha256.
    Undefined metrics (NaN) are left out (the schema needs a number).
    """
    model = sub["model"]
    stamp = str(int(time.time()))
    results = []
    for task, t in sub["tasks"].items():
        prov = t["provenance"]
        for name, m in t["metrics"].items():
            if m["value"] is None:
                continue
            low, high = m.get("range") or (0.0, 1.0)
            unc: dict[str, Any] = {"num_samples": m["n"], "num_bootstrap_samples": sub["bootstrap"]["iters"]}
            if m["stderr"] is not None:
                unc["standard_error"] = {"value": m["stderr"], "method": "bootstrap"}
            if m["ci_low"] is not None and m["ci_high"] is not None:
                unc["confidence_interval"] = {
                    "lower": m["ci_low"],
                    "upper": m["ci_high"],
                    "confidence_level": 0.95,
                    "method": "clustered percentile bootstrap",
                }
            results.append(
                {
                    "evaluation_name": f"{task}/{name}",
                    "source_data": {
                        "dataset_name": str(prov.get("source")),
                        "source_type": "other",
                        "additional_details": {
                            "data_sha256": str(prov.get("data_sha256")),
                            "n_docs": str(prov.get("n_docs")),
                            "task_version": str(t["version"]),
                        },
                    },
                    "metric_config": {
                        "evaluation_description": m["description"],
                        "lower_is_better": not m["higher_is_better"],
                        "score_type": "continuous",
                        "min_score": low,
                        "max_score": high,
                    },
                    "score_details": {"score": m["value"], "uncertainty": unc},
                }
            )
    return {
        "schema_version": EEE_SCHEMA_VERSION,
        "evaluation_id": f"harness-ext/{model['id']}/{stamp}",
        "retrieved_timestamp": stamp,
        "source_metadata": {
            "source_name": "harness-ext",
            "source_type": "evaluation_run",
            "source_organization_name": "harness-ext",
            "evaluator_relationship": "third_party",
        },
        "model_info": {
            "name": str(model["name"]),
            "id": str(model["id"]),
            "inference_platform": str(model["backend"]),
            "additional_details": {
                k: str(model[k]) for k in ("revision", "sha", "dtype") if model.get(k) is not None
            },
        },
        "eval_library": {
            "name": "lm_eval",
            "version": str(sub["software"]["lm_eval"]),
            "additional_details": {"harness_ext": str(sub["software"]["harness_ext"])},
        },
        "evaluation_results": results,
        "dedupe_identity": {"content_hash": sub["records_sha256"], "hash_algorithm": "sha256"},
    }


def write_submission(run_dir: str | Path, to: Path, fmt: str = "harness-ext") -> Path:
    """Load ``run_dir``, build the submission and write it to ``to``."""
    sub = build_submission(load_run(run_dir))
    body = to_every_eval_ever(sub) if fmt == "every_eval_ever" else sub
    to.parent.mkdir(parents=True, exist_ok=True)
    to.write_text(json.dumps(body, indent=1, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return to
