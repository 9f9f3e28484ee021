"""Paired regression gate: is CURRENT significantly and materially worse than BASELINE?

The two runs are paired per document (the doc's ``id``, else lm-eval's ``doc_hash``) and every
metric of every task is tested on the paired per-sample records:

- **Exact McNemar** (``scipy.stats.binomtest`` on the discordant pairs; McNemar 1947, exact form as
  in Fagerland, Lydersen & Laake 2013) when the metric is a mean of per-document 0/1 outcomes: its
  value on each single record is 0 or 1 (or undefined on the same documents in both runs, as for a
  rate conditioned on a first answer that is identical in both runs), the metric equals the mean
  of those values, and every cluster holds one document.
- **Paired bootstrap** otherwise (ratios with varying denominators, bias scores, spreads):
  clusters are resampled with the same multinomial weights for both runs, the metric is evaluated
  on both runs' column totals (the machinery of :mod:`harness_ext.metrics.core`), and the interval
  of the difference is the percentile interval; the two-sided p-value is twice the smaller tail
  share of differences on either side of zero (Efron & Tibshirani 1993, ch. 15-16).
- The p-values of all metrics are **Holm-corrected** together (Holm 1979).

A change is a *regression* only when it is significant after correction AND in the metric's bad
direction (``Metric.higher_is_better``) AND at least the metric's minimum effect in size.
Minimum effects (absolute, on the metric's own scale): ``--min-effect PATTERN=VALUE`` overrides,
else the metric's own ``Metric.min_effect`` (set by its family), else :data:`DEFAULT_MIN_EFFECT`.

Runs over different task versions, data, prompts, n-shot or document sets are refused
(:class:`Incomparable`). Exit codes: 0 no regression, 1 regression, 2 refused / bad input.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from harness_ext.metrics.core import Columns, Metric, ZeroTotals, paired_replicates
from harness_ext.runs import Run, RunError, TaskRun

#: Default minimum effect (absolute difference) of a metric that declares none: 5 points.
DEFAULT_MIN_EFFECT = 0.05
ALPHA = 0.05
ITERS = 10_000
SEED = 20240917
_CHUNK = 500

OK, REGRESSION, REFUSED = 0, 1, 2


class Incomparable(RunError):
    """The runs cannot be paired (different tasks, versions, data, prompts, n-shot or documents)."""


@dataclass
class Row:
    """One metric of one task, baseline vs current."""

    task: str
    metric: str
    higher_is_better: bool
    baseline: float
    current: float
    delta: float
    low: float
    high: float
    p: float
    p_holm: float
    test: str
    n_pairs: int
    min_effect: float
    verdict: str = ""


@dataclass
class Comparison:
    """Every row, with the settings; :attr:`exit_code` is 1 when any row is a regression."""

    baseline: str
    current: str
    alpha: float
    iters: int
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.verdict == "regression"]

    @property
    def exit_code(self) -> int:
        return REGRESSION if self.regressions else OK


# --------------------------------------------------------------------------- runs that cannot be paired
def _short(x: Any) -> str:
    s = json.dumps(x, sort_keys=True, default=str) if not isinstance(x, str) else x
    return s if len(s) <= 16 else s[:12] + "..."


def check_comparable(base: Run, cur: Run, tasks: Sequence[str] | None = None) -> list[str]:
    """The task names to compare; :class:`Incomparable` (one line) when the runs cannot be paired."""
    names_b, names_c = set(base.tasks), set(cur.tasks)
    if tasks:
        missing = [t for t in tasks if t not in names_b or t not in names_c]
        if missing:
            raise Incomparable(f"task(s) not in both runs: {', '.join(missing)}")
        names = list(tasks)
    else:
        if names_b != names_c:
            only_b, only_c = sorted(names_b - names_c), sorted(names_c - names_b)
            raise Incomparable(
                f"task sets differ (only in baseline: {', '.join(only_b) or '-'}; "
                f"only in current: {', '.join(only_c) or '-'}); pass --tasks to compare the shared ones"
            )
        names = sorted(names_b)
    for t in names:
        b, c = base.tasks[t], cur.tasks[t]
        pb, pc = b.provenance, c.provenance
        checks = [
            ("task versions", b.version, c.version),
            ("n-shot", b.n_shot, c.n_shot),
            ("data hashes", pb.get("data_sha256"), pc.get("data_sha256")),
        ]
        for what, x, y in checks:
            if str(x) != str(y):
                raise Incomparable(f"{t}: {what} differ (baseline {_short(x)}, current {_short(y)})")
        _check_hashes(t, "prompt", "templates", pb.get("prompt_sha256") or {}, pc.get("prompt_sha256") or {})
        if "resource_sha256" in pb and "resource_sha256" in pc:  # runs before it was recorded: not checked
            _check_hashes(t, "resource", "files", pb["resource_sha256"] or {}, pc["resource_sha256"] or {})
        keys_b, keys_c = {s.key for s in b.samples}, {s.key for s in c.samples}
        if keys_b != keys_c:
            only_b, only_c = sorted(keys_b - keys_c), sorted(keys_c - keys_b)
            raise Incomparable(
                f"{t}: sample sets differ ({len(keys_b)} vs {len(keys_c)} documents; "
                f"e.g. only in baseline: {only_b[:1] or '-'}, only in current: {only_c[:1] or '-'}); --limit?"
            )
    return names


def _check_hashes(task: str, what: str, items: str, b: Any, c: Any) -> None:
    """Raise :class:`Incomparable` naming the files whose recorded hashes differ."""
    if b == c:
        return
    if isinstance(b, dict) and isinstance(c, dict):
        diff = sorted(k for k in {*b, *c} if b.get(k) != c.get(k))
        raise Incomparable(f"{task}: {what} hashes differ ({items}: {', '.join(diff)})")
    raise Incomparable(f"{task}: {what} hashes differ")


def _notes(base: Run, cur: Run) -> list[str]:
    out = []
    for key, label in [
        ("model_name", "models"),
        ("chat_template_sha", "chat templates"),
        ("system_instruction_sha", "system instructions"),
    ]:
        if base.results.get(key) != cur.results.get(key):
            out.append(f"{label} differ: {_short(base.results.get(key))} vs {_short(cur.results.get(key))}")
    if base.config.get("gen_kwargs") != cur.config.get("gen_kwargs"):
        out.append(f"--gen_kwargs differ: {base.config.get('gen_kwargs')} vs {cur.config.get('gen_kwargs')}")
    return out


# --------------------------------------------------------------------------- statistics
def per_record(metric: Metric, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The metric evaluated on each record alone (NaN where undefined)."""
    cols = Columns([dict(r, cluster=i) for i, r in enumerate(records)])
    totals = ZeroTotals({n: cols.matrix[:, i] for i, n in enumerate(cols.names)}, (len(records),))
    with np.errstate(all="ignore"):
        return np.asarray(metric.fn(totals), dtype=float).reshape(-1)


def binary_outcomes(
    metric: Metric, base: Sequence[Mapping[str, Any]], cur: Sequence[Mapping[str, Any]]
) -> tuple[np.ndarray, np.ndarray] | None:
    """Paired 0/1 outcomes if the metric is a mean of per-document 0/1 values (see module doc)."""
    vb, vc = per_record(metric, base), per_record(metric, cur)
    defined = ~np.isnan(vb)
    if not defined.any() or not np.array_equal(defined, ~np.isnan(vc)):
        return None
    b, c = vb[defined], vc[defined]
    if not (np.isin(b, (0.0, 1.0)).all() and np.isin(c, (0.0, 1.0)).all()):
        return None
    for recs, v in ((base, b), (cur, c)):
        whole = float(metric.fn(Columns(recs).totals()))
        if not math.isclose(whole, float(v.mean()), abs_tol=1e-9):
            return None
    return b, c


def mcnemar_exact(b: np.ndarray, c: np.ndarray) -> float:
    """Two-sided exact McNemar p-value: discordant pairs ~ Binomial(n01 + n10, 1/2)."""
    from scipy.stats import binomtest

    worse, better = int(((b == 1) & (c == 0)).sum()), int(((b == 0) & (c == 1)).sum())
    if worse + better == 0:
        return 1.0
    return float(binomtest(better, worse + better, 0.5).pvalue)


def bootstrap_p(diffs: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from bootstrap differences (percentile inversion)."""
    d = diffs[~np.isnan(diffs)]
    if d.size == 0:
        return math.nan
    below, above = (d <= 0).sum(), (d >= 0).sum()
    return float(min(1.0, 2 * (min(below, above) + 1) / (d.size + 1)))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (NaN stays NaN and does not count)."""
    idx = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(idx)
    adj = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adj[i] = running
    return adj


def min_effect_for(metric: Metric, overrides: Mapping[str, float], default: float) -> float:
    """The minimum effect of ``metric``: an override pattern, then its own, then ``default``."""
    for pattern, value in overrides.items():
        if fnmatch.fnmatchcase(metric.name, pattern):
            return value
    return default if metric.min_effect is None else metric.min_effect


# --------------------------------------------------------------------------- the comparison
def compare_task(bt: TaskRun, ct: TaskRun, iters: int, seed: int) -> list[Row]:
    """Rows (without Holm and verdicts) of one task's metrics."""
    by_key = {s.key: s for s in ct.samples}
    keys = [s.key for s in bt.samples]
    units = {s.key: str(s.record.get("cluster", s.key)) for s in bt.samples}
    rb = [dict(s.record, cluster=units[s.key]) for s in bt.samples]
    rc = [dict(by_key[k].record, cluster=units[k]) for k in keys]
    cb, cc = Columns(rb), Columns(rc)
    singletons = cb.matrix.shape[0] == len(keys)
    metrics = bt.metrics
    reps = paired_replicates([(m.fn, m.fn) for m in metrics], cb, cc, iters, seed, chunk=_CHUNK)
    diffs = {m.name: r for m, r in zip(metrics, reps, strict=True)}
    rows = []
    for m in metrics:
        vb, vc = float(m.fn(cb.totals())), float(m.fn(cc.totals()))
        d = diffs[m.name][~np.isnan(diffs[m.name])]
        low, high = (float(x) for x in np.quantile(d, [0.025, 0.975])) if d.size >= 2 else (math.nan,) * 2
        pair = binary_outcomes(m, rb, rc) if singletons else None
        if math.isnan(vb) or math.isnan(vc):
            p, test = math.nan, "undefined"
        elif pair is not None:
            p, test = mcnemar_exact(*pair), "McNemar exact"
        else:
            p, test = bootstrap_p(diffs[m.name]), "paired bootstrap"
        n_pairs = len(pair[0]) if pair is not None else len(keys)
        rows.append(
            Row(
                bt.name,
                m.name,
                m.higher_is_better,
                vb,
                vc,
                vc - vb,
                low,
                high,
                p,
                math.nan,
                test,
                n_pairs,
                0.0,
            )
        )
    return rows


def compare_runs(
    base: Run,
    cur: Run,
    tasks: Sequence[str] | None = None,
    min_effect: Mapping[str, float] | None = None,
    default_min_effect: float = DEFAULT_MIN_EFFECT,
    alpha: float = ALPHA,
    iters: int = ITERS,
    seed: int = SEED,
) -> Comparison:
    """Compare two loaded runs (raises :class:`Incomparable`)."""
    names = check_comparable(base, cur, tasks)
    comp = Comparison(str(base.path), str(cur.path), alpha, iters, notes=_notes(base, cur))
    defs: dict[tuple[str, str], Metric] = {}
    for t in names:
        comp.rows.extend(compare_task(base.tasks[t], cur.tasks[t], iters, seed))
        defs |= {(t, m.name): m for m in base.tasks[t].metrics}
    for row, adj in zip(comp.rows, holm([r.p for r in comp.rows]), strict=True):
        row.p_holm = adj
        row.min_effect = min_effect_for(defs[(row.task, row.metric)], min_effect or {}, default_min_effect)
        row.verdict = _verdict(row, alpha)
    return comp


def _verdict(r: Row, alpha: float) -> str:
    if math.isnan(r.p_holm):
        return "undefined"
    if r.p_holm >= alpha:
        return "no significant change"
    worse = r.delta < 0 if r.higher_is_better else r.delta > 0
    if not worse:
        return "improved"
    return "regression" if abs(r.delta) >= r.min_effect - 1e-12 else "worse, below min effect"


# --------------------------------------------------------------------------- output
def _num(x: float, signed: bool = False) -> str:
    if math.isnan(x):
        return "n/a"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _p(x: float) -> str:
    return "n/a" if math.isnan(x) else ("<0.001" if x < 0.001 else f"{x:.3f}")


def to_markdown(comp: Comparison) -> str:
    """A Markdown report (headline + table of deltas) ready for a pull-request comment."""
    n = len(comp.regressions)
    head = f"**{n} regression{'s' if n != 1 else ''}**" if n else "**no regression**"
    lines = [
        f"### harness-ext compare: {head}",
        "",
        f"baseline `{comp.baseline}` vs current `{comp.current}`; Holm-corrected at alpha {comp.alpha}, "
        f"{comp.iters} paired bootstrap replicates; a regression is significant, in the bad direction "
        "and at least the min effect.",
        "",
        "| task | metric | baseline | current | delta [95% CI] | p (Holm) | test | min effect | verdict |",
        "|---|---|---:|---:|---|---:|---|---:|---|",
    ]
    for r in comp.rows:
        arrow = "↑" if r.higher_is_better else "↓"
        verdict = f"**{r.verdict}**" if r.verdict == "regression" else r.verdict
        ci = f"{_num(r.delta, True)} [{_num(r.low, True)}, {_num(r.high, True)}]"
        lines.append(
            f"| {r.task} | {r.metric} {arrow} | {_num(r.baseline)} | {_num(r.current)} | {ci} | "
            f"{_p(r.p_holm)} | {r.test} (n={r.n_pairs}) | {r.min_effect:g} | {verdict} |"
        )
    lines += ["", *(f"> note: {x}" for x in comp.notes)]
    return "\n".join(lines).rstrip() + "\n"


def _clean(x: Any) -> Any:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x


def to_json(comp: Comparison) -> str:
    """The comparison as JSON (NaN as null)."""
    body = {
        "exit_code": comp.exit_code,
        "regressions": len(comp.regressions),
        "baseline": comp.baseline,
        "current": comp.current,
        "alpha": comp.alpha,
        "iters": comp.iters,
        "notes": comp.notes,
        "rows": [asdict(r) for r in comp.rows],
    }
    return json.dumps(_clean(body), indent=2)


def parse_min_effects(items: Sequence[str]) -> dict[str, float]:
    """``["apology_rate=0.05", "bias_score_*=0.1"]`` -> mapping; ValueError names a bad item."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise ValueError(
                f"--min-effect {item!r}: expected METRIC=NUMBER, e.g. apology_rate=0.05"
            ) from None
    return out
