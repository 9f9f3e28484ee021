"""Check a submission before it enters the leaderboard: :func:`validate_submission` lists reasons.

A submission is rejected when it is

- **malformed**: not a ``harness-ext-submission/1`` JSON object, or records that do not decode;
- **tampered with**: the records' sha256 differs from ``records_sha256``;
- **partial**: run with ``--limit``, fewer effective than original documents, or fewer records
  than the canonical document count;
- **non-canonical**: a task that is not a leaderboard task, a task version, data hash or prompt
  hash not in ``harness_ext/leaderboard/canonical.json``;
- **inconsistent**: a metric (value, stderr or interval) that differs from its recomputation from
  the embedded records with the recorded bootstrap settings, a missing or extra metric, or a
  value that differs from the one lm-eval reported.
"""

from __future__ import annotations

import binascii
import json
import math
import zlib
from pathlib import Path
from typing import Any

from harness_ext.leaderboard.canonical import load_canonical
from harness_ext.metrics.core import estimate
from harness_ext.registry import RegistryError, metrics_for_task
from harness_ext.submit import FORMAT, unpack_records

TOLERANCE = 1e-9


def _same(x: Any, y: float) -> bool:
    if x is None:
        return math.isnan(y) or math.isinf(y)
    return isinstance(x, (int, float)) and math.isclose(float(x), y, rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _canonical_reasons(task: str, t: dict[str, Any], canon: dict[str, Any]) -> list[str]:
    if task not in canon:
        return [f"{task}: not a leaderboard task (canonical tasks: {', '.join(sorted(canon))})"]
    c, prov = canon[task], t.get("provenance") or {}
    out = []
    if str(t.get("version")) != str(c.get("version")):
        out.append(f"{task}: task version {t.get('version')} is not the canonical {c.get('version')}")
    if prov.get("data_sha256") not in c.get("data_sha256", []):
        out.append(
            f"{task}: non-canonical data (data_sha256 {str(prov.get('data_sha256'))[:12]}..., "
            f"source {prov.get('source')!r}); run on the bundled data"
        )
    if prov.get("prompt_sha256") != c.get("prompt_sha256"):
        out.append(f"{task}: non-canonical prompts (prompt hashes differ from this harness-ext version)")
    n_samples = t.get("n_samples") or {}
    if n_samples.get("effective") is not None and n_samples.get("effective") != n_samples.get("original"):
        out.append(
            f"{task}: partial run ({n_samples.get('effective')} of {n_samples.get('original')} documents)"
        )
    return out


def _metric_reasons(
    task: str, t: dict[str, Any], records: list[dict[str, Any]], boot: dict[str, Any]
) -> list[str]:
    try:
        meta = dict(t.get("metadata") or {}) | {"provenance": dict(t.get("provenance") or {})}
        metrics = tuple(m for m in metrics_for_task(task, {"metadata": meta}) if m.leaderboard)
    except RegistryError as e:
        return [str(e)]
    claimed = t.get("metrics") or {}
    out = []
    names = {m.name for m in metrics}
    if set(claimed) != names:
        extra, missing = sorted(set(claimed) - names), sorted(names - set(claimed))
        out.append(f"{task}: metric set differs (extra: {extra or '-'}, missing: {missing or '-'})")
    for m in metrics:
        c = claimed.get(m.name)
        if not isinstance(c, dict):
            continue
        iv = estimate(m, records, iters=int(boot.get("iters", 1000)), seed=int(boot.get("seed", 1234)))
        for field, val in (
            ("value", iv.value),
            ("stderr", iv.stderr),
            ("ci_low", iv.low),
            ("ci_high", iv.high),
        ):
            if not _same(c.get(field), val):
                out.append(f"{task}/{m.name}: {field} {c.get(field)} does not match the recomputed {val:.6g}")
        if c.get("reported") is not None and not _same(c.get("reported"), iv.value):
            out.append(
                f"{task}/{m.name}: lm-eval reported {c['reported']} but the records give {iv.value:.6g}"
            )
    return out


def validate_submission(sub: Any, canonical: dict[str, Any] | None = None) -> list[str]:
    """Reasons to reject ``sub`` (empty when valid)."""
    if not isinstance(sub, dict) or sub.get("format") != FORMAT:
        found = sub.get("format") if isinstance(sub, dict) else type(sub).__name__
        return [f"not a harness-ext submission (format {found!r}, expected {FORMAT!r})"]
    canon = load_canonical() if canonical is None else canonical
    reasons: list[str] = []
    try:
        records, digest = unpack_records(str((sub.get("records") or {}).get("data", "")))
    except (binascii.Error, OSError, EOFError, zlib.error, ValueError, UnicodeError):
        return ["records: cannot decode the embedded per-sample records (expected gzip+base64 JSON)"]
    if digest != sub.get("records_sha256"):
        reasons.append("tampered: the records' sha256 does not match records_sha256")
    limit = (sub.get("run") or {}).get("limit")
    if limit is not None:
        reasons.append(f"partial run: lm_eval was run with --limit {limit}")
    tasks = sub.get("tasks") or {}
    if not tasks:
        reasons.append("no tasks")
    if set(records) != set(tasks):
        reasons.append(f"records cover tasks {sorted(records)} but metrics cover {sorted(tasks)}")
    for task, t in sorted(tasks.items()):
        reasons += _canonical_reasons(task, t, canon)
        recs = [r for _, r in records.get(task, [])]
        expected = (canon.get(task) or {}).get("n_docs")
        canonical_data = (t.get("provenance") or {}).get("data_sha256") in (canon.get(task) or {}).get(
            "data_sha256", []
        )
        if canonical_data and expected is not None and len(recs) < expected:
            reasons.append(f"{task}: partial run ({len(recs)} records, canonical data has {expected})")
        reasons += _metric_reasons(task, t, recs, sub.get("bootstrap") or {})
    return reasons


def validate_file(path: Path, canonical: dict[str, Any] | None = None) -> list[str]:
    """Reasons to reject the submission file at ``path`` (unreadable files raise OSError)."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        sub = json.loads(text)
    except json.JSONDecodeError as e:
        return [f"line {e.lineno}: not valid JSON ({e.msg}); truncated?"]
    return validate_submission(sub, canonical)
