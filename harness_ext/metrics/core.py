"""Declarative metrics over per-sample records, with clustered bootstrap intervals.

Every metric in this project is a function of *column totals*: a scorer turns each sample into a
record of numeric columns (``correct_before``, ``admits``, ``biased`` ...), the records are summed
per cluster (a document, or a template when items share one), and a metric maps the totals to a
number (a ratio, a bias score ...). Because the statistic only needs totals, the bootstrap is exact
and vectorised: resample clusters with replacement (a multinomial count per cluster), multiply the
count matrix by the per-cluster totals, and evaluate the metric on every row at once (Efron &
Tibshirani 1993, ch. 6 and 13; clustered resampling as in Field & Welsh 2007).

A metric whose denominator is empty is NaN, never 0.0: an empty conditional rate is not a rate.

Two edge cases of the interval (:func:`estimate`):

- **Fewer than two clusters feed the metric** (a cluster feeds it when it has a non-zero total in a
  column the metric reads): there is nothing to resample, so the standard error and the interval
  are NaN, never a collapsed 0.
- **A proportion at 0 or 1** (a :func:`ratio` or its :func:`complement`): every bootstrap replicate
  equals the value, so the percentile interval collapses to a point. Such a proportion gets the
  Wilson score interval (Wilson 1927; Brown, Cai & DasGupta 2001) over its denominator total as
  ``n``, i.e. without a design effect for clustering (a lower bound on the clustered width). The
  standard error stays the bootstrap's (0.0); ``Interval.method`` says which interval was used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Totals = Mapping[str, np.ndarray]
StatFn = Callable[[Totals], np.ndarray]

CLUSTER_KEY = "cluster"
DEFAULT_ITERS = 1000
DEFAULT_SEED = 1234


@dataclass(frozen=True)
class Group:
    """Metrics drawn together in the report: one bar chart per group (HELM's metric groups)."""

    name: str
    title: str
    axis: str = "value"


@dataclass(frozen=True)
class Metric:
    """One reported number: how it follows from column totals, and what generic tools need of it.

    ``lo``/``hi``: its range (a submission's score bounds); ``group``: the report's bar chart
    (None: table only); ``min_effect``: the smallest change ``compare`` calls a regression (None:
    compare's default); ``leaderboard``: whether a submission shows it.
    """

    name: str
    fn: StatFn
    higher_is_better: bool
    description: str = ""
    #: Records -> records before the totals are taken, for metrics over several documents at once
    #: (e.g. answers to one question under two prompts). Must be a pure function.
    prepare: Callable[[list[Mapping[str, Any]]], list[dict[str, Any]]] | None = None
    lo: float = 0.0
    hi: float = 1.0
    group: Group | None = None
    min_effect: float | None = None
    leaderboard: bool = True

    def records(self, records: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
        """The records this metric is computed over (``prepare`` applied)."""
        return self.prepare([record_of(r) for r in records]) if self.prepare else records


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap standard error and percentile interval."""

    value: float
    stderr: float
    low: float
    high: float
    n: int
    #: ``percentile`` (clustered bootstrap), ``wilson`` (a proportion at 0 or 1) or ``none`` (NaN).
    method: str = "percentile"


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Elementwise ``num / den`` that is NaN (not an error, not 0.0) where ``den`` is 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass(frozen=True)
class Ratio:
    """Statistic ``sum(num) / sum(den)``: a proportion when ``num`` counts a subset of ``den``."""

    num: str
    den: str

    def __call__(self, t: Totals) -> np.ndarray:
        return safe_div(t[self.num], t[self.den])


@dataclass(frozen=True)
class Complement:
    """Statistic ``1 - fn``."""

    fn: StatFn

    def __call__(self, t: Totals) -> np.ndarray:
        return 1.0 - self.fn(t)


def ratio(num: str, den: str) -> StatFn:
    """Statistic ``sum(num) / sum(den)`` over the records."""
    return Ratio(num, den)


def complement(fn: StatFn) -> StatFn:
    """Statistic ``1 - fn``."""
    return Complement(fn)


def wilson_interval(successes: float, n: float, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion ``successes / n`` (Wilson 1927).

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``z`` the ``1 - alpha/2``
    normal quantile; (NaN, NaN) for ``n <= 0``. Unlike the Wald or a percentile bootstrap
    interval it does not collapse at ``p = 0`` or ``p = 1``.
    """
    if n <= 0:
        return math.nan, math.nan
    from scipy.stats import norm  # imported here: scipy.stats costs a second of start-up

    z = float(norm.ppf(1 - alpha / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _proportion_n(fn: StatFn, totals: Totals) -> float | None:
    """Denominator total of a proportion statistic (a ratio or its complement), else None."""
    while isinstance(fn, Complement):
        fn = fn.fn
    return float(totals[fn.den]) if isinstance(fn, Ratio) else None


class Columns:
    """Per-cluster column totals of a list of records (numeric values only; ``None`` counts 0)."""

    def __init__(self, records: Sequence[Mapping[str, Any]], cluster_key: str = CLUSTER_KEY):
        names: dict[str, None] = {}
        for rec in records:
            for k, v in rec.items():
                if k != cluster_key and isinstance(v, (int, float, bool)) and not isinstance(v, str):
                    names.setdefault(k, None)
        self.names = list(names)
        clusters: dict[Any, int] = {}
        rows: list[np.ndarray] = []
        index = {n: i for i, n in enumerate(self.names)}
        for i, rec in enumerate(records):
            key = rec.get(cluster_key, f"__row{i}")
            if key not in clusters:
                clusters[key] = len(rows)
                rows.append(np.zeros(len(self.names)))
            row = rows[clusters[key]]
            for k, v in rec.items():
                if k in index and v is not None and not isinstance(v, str):
                    row[index[k]] += float(v)
        self.matrix = np.vstack(rows) if rows else np.zeros((0, len(self.names)))
        self.n_records = len(records)

    def totals(self, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Column totals; with ``weights`` (iters x clusters) one row of totals per weight row."""
        sums = self.matrix.sum(axis=0) if weights is None else weights @ self.matrix
        return ZeroTotals({n: sums[..., i] for i, n in enumerate(self.names)}, sums.shape[:-1])


def columns_read(fn: StatFn, cols: Columns) -> list[str]:
    """The columns a statistic reads, found by evaluating it once on recording totals."""
    seen: list[str] = []

    class _Recording(ZeroTotals):
        def __getitem__(self, key: str) -> np.ndarray:
            if key not in seen:
                seen.append(key)
            return super().__getitem__(key)

    fn(_Recording(dict(cols.totals()), ()))  # unweighted totals are scalars
    return seen


def feeding_clusters(fn: StatFn, cols: Columns) -> int:
    """How many clusters have a non-zero total in a column ``fn`` reads."""
    idx = [cols.names.index(c) for c in columns_read(fn, cols) if c in cols.names]
    if not idx or cols.matrix.shape[0] == 0:
        return 0
    return int(np.count_nonzero(np.any(cols.matrix[:, idx] != 0, axis=1)))


class ZeroTotals(dict[str, np.ndarray]):
    """Totals mapping in which a column no record had sums to zero."""

    def __init__(self, data: dict[str, np.ndarray], shape: tuple[int, ...]):
        super().__init__(data)
        self._shape = shape

    def __missing__(self, key: str) -> np.ndarray:
        return np.zeros(self._shape)


def point(metric: Metric, records: Sequence[Mapping[str, Any]]) -> float:
    """The metric's value on all records."""
    return float(metric.fn(Columns(metric.records(records)).totals()))


def estimate(
    metric: Metric,
    records: Sequence[Mapping[str, Any]],
    iters: int = DEFAULT_ITERS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> Interval:
    """Point value, bootstrap standard error and ``1 - alpha`` percentile interval.

    Clusters (records sharing ``cluster``) are resampled whole. Replicates where the metric is
    undefined (empty denominator) are left out of the spread; if all are, the spread is NaN. Fewer
    than two feeding clusters give a NaN standard error and interval; a proportion at 0 or 1 gets
    the Wilson interval (see the module docstring).
    """
    cols = Columns(metric.records(records))
    totals = cols.totals()
    value = float(metric.fn(totals))
    n_clusters = cols.matrix.shape[0]
    none = Interval(value, math.nan, math.nan, math.nan, cols.n_records, "none")
    if n_clusters < 2 or iters <= 0 or math.isnan(value) or feeding_clusters(metric.fn, cols) < 2:
        return none
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=iters)
    reps = np.asarray(metric.fn(cols.totals(weights.astype(float))), dtype=float)
    reps = reps[~np.isnan(reps)]
    if reps.size < 2:
        return none
    stderr = float(reps.std(ddof=1))
    n_trials = _proportion_n(metric.fn, totals)
    if n_trials is not None and value in (0.0, 1.0):
        low, high = wilson_interval(value * n_trials, n_trials, alpha)
        return Interval(value, stderr, low, high, cols.n_records, "wilson")
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return Interval(value, stderr, float(low), float(high), cols.n_records)


def bootstrap_weights(
    n_clusters: int, iters: int, seed: int, chunk: int | None = None
) -> Iterator[np.ndarray]:
    """Multinomial cluster counts (iters x clusters, float), all at once or ``chunk`` rows at a time.

    One generator seeded with ``seed`` draws every row, so the rows are the same whatever ``chunk``.
    """
    rng = np.random.default_rng(seed)
    step = iters if chunk is None else chunk
    done = 0
    while done < iters:
        k = min(step, iters - done)
        yield rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=k).astype(float)
        done += k


def paired_replicates(
    pairs: Sequence[tuple[StatFn, StatFn]], a: Columns, b: Columns, iters: int, seed: int, chunk: int = 500
) -> list[np.ndarray]:
    """Per ``(fn_a, fn_b)``, bootstrap replicates of ``fn_b(B) - fn_a(A)`` over jointly resampled clusters.

    ``a`` and ``b`` hold the same clusters in the same order (row ``i`` of both is one cluster), so
    every replicate gives both the same multinomial weights: the paired bootstrap (Efron &
    Tibshirani 1993, ch. 15-16).
    """
    if a.matrix.shape[0] != b.matrix.shape[0]:
        raise ValueError(f"paired columns hold {a.matrix.shape[0]} and {b.matrix.shape[0]} clusters")
    out: list[list[np.ndarray]] = [[] for _ in pairs]
    for w in bootstrap_weights(a.matrix.shape[0], iters, seed, chunk):
        ta, tb = a.totals(w), b.totals(w)
        with np.errstate(all="ignore"):
            for i, (fa, fb) in enumerate(pairs):
                out[i].append(np.asarray(fb(tb), float) - np.asarray(fa(ta), float))
    return [np.concatenate(v) if v else np.zeros(0) for v in out]


@dataclass(frozen=True)
class PairedChange:
    """Change of a metric from condition A to condition B over the documents both logged."""

    name: str
    before: float
    after: float
    change: Interval
    n_paired: int
    n_unpaired: int


def paired_change(
    keyed_a: Mapping[str, Mapping[str, Any]],
    keyed_b: Mapping[str, Mapping[str, Any]],
    metric_a: Metric,
    metric_b: Metric | None = None,
    iters: int = DEFAULT_ITERS,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
) -> PairedChange:
    """Change of ``metric_a`` (on A's records) to ``metric_b`` (on B's, default the same metric).

    ``keyed_a``/``keyed_b`` map a document key to its record; only documents in both count. Each
    pair is resampled as A's cluster (e.g. the template), so both conditions see the same
    resampled items on every replicate (:func:`paired_replicates`). The interval is the
    percentile interval of the replicates (NaN with fewer than two clusters or two defined
    replicates); the standard error is theirs.
    """
    metric_b = metric_b or metric_a
    keys = [k for k in keyed_a if k in keyed_b]
    units = {k: keyed_a[k].get(CLUSTER_KEY, k) for k in keys}
    a = Columns([dict(keyed_a[k], **{CLUSTER_KEY: units[k]}) for k in keys])
    b = Columns([dict(keyed_b[k], **{CLUSTER_KEY: units[k]}) for k in keys])
    with np.errstate(all="ignore"):
        before, after = float(metric_a.fn(a.totals())), float(metric_b.fn(b.totals()))
    value = after - before
    change = Interval(value, math.nan, math.nan, math.nan, len(keys), "none")
    if a.matrix.shape[0] >= 2 and iters > 0 and not math.isnan(value):
        (reps,) = paired_replicates([(metric_a.fn, metric_b.fn)], a, b, iters, seed, chunk=iters)
        reps = reps[~np.isnan(reps)]
        if reps.size >= 2:
            low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
            change = Interval(value, float(reps.std(ddof=1)), float(low), float(high), len(keys))
    return PairedChange(
        name=f"{metric_b.name}_change",
        before=before,
        after=after,
        change=change,
        n_paired=len(keys),
        n_unpaired=len(keyed_a) + len(keyed_b) - 2 * len(keys),
    )


class SharedRecord(Mapping[str, Any]):
    """The per-sample record as seen by every metric after the first.

    lm-eval logs each metric's per-sample value in the samples file; with the record itself under
    every metric name a task with many metrics would log it dozens of times per sample. The first
    metric gets the record (a dict, logged in full); the others get this read-only view of the same
    dict, which lm-eval's JSON writer logs as a short reference string.
    """

    __slots__ = ("data", "ref")

    def __init__(self, data: dict[str, Any], ref: str):
        self.data, self.ref = data, ref

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __str__(self) -> str:
        return f"<record under {self.ref}>"

    __repr__ = __str__


def record_of(item: Mapping[str, Any]) -> dict[str, Any]:
    """The underlying (mutable, shared) record of a per-metric value."""
    return item.data if isinstance(item, SharedRecord) else dict(item) if not isinstance(item, dict) else item


class Aggregation:
    """lm-eval aggregation for one metric: called on the list of per-sample records.

    lm-eval gives custom aggregations no standard error; ``harness_ext.dialogue.stderr_hook`` makes
    its ``stderr_for_metric`` return :meth:`stderr` for these objects.
    """

    def __init__(self, metric: Metric):
        self.metric = metric
        self.__name__ = metric.name

    def __call__(self, items: Iterable[Mapping[str, Any]]) -> float:
        return point(self.metric, list(items))

    def stderr(self, items: Iterable[Mapping[str, Any]], iters: int = DEFAULT_ITERS) -> float:
        return estimate(self.metric, list(items), iters=min(iters, DEFAULT_ITERS)).stderr
