"""Declarative metrics over per-sample records, with clustered bootstrap intervals.

Every metric in this project is a function of *column totals*: a scorer turns each sample into a
record of numeric columns (``correct_before``, ``admits``, ``biased`` ...), the records are summed
per cluster (a document, or a template when items share one), and a metric maps the totals to a
number (a ratio, a bias score ...). Because the statistic only needs totals, the bootstrap is exact
and vectorised: resample clusters with replacement (a multinomial count per cluster), multiply the
count matrix by the per-cluster totals, and evaluate the metric on every row at once (Efron &
Tibshirani 1993, ch. 6 and 13; clustered resampling as in Field & Welsh 2007).

A metric whose denominator is empty is NaN, never 0.0: an empty conditional rate is not a rate.
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
class Metric:
    """One reported number: its name, how it follows from column totals, and its direction."""

    name: str
    fn: StatFn
    higher_is_better: bool
    description: str = ""
    #: Records -> records before the totals are taken, for metrics over several documents at once
    #: (e.g. CRaFT's basic and refusal-aware answers to one question). Must be a pure function.
    prepare: Callable[[list[Mapping[str, Any]]], list[dict[str, Any]]] | None = None

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


def safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Elementwise ``num / den`` that is NaN (not an error, not 0.0) where ``den`` is 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def ratio(num: str, den: str) -> StatFn:
    """Statistic ``sum(num) / sum(den)`` over the records."""
    return lambda t: safe_div(t[num], t[den])


def complement(fn: StatFn) -> StatFn:
    """Statistic ``1 - fn``."""
    return lambda t: 1.0 - fn(t)


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
        return _ZeroDict({n: sums[..., i] for i, n in enumerate(self.names)}, sums.shape[:-1])


class _ZeroDict(dict[str, np.ndarray]):
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
    undefined (empty denominator) are left out of the spread; if all are, the spread is NaN.
    """
    cols = Columns(metric.records(records))
    value = float(metric.fn(cols.totals()))
    n_clusters = cols.matrix.shape[0]
    if n_clusters < 2 or iters <= 0 or math.isnan(value):
        return Interval(value, math.nan, math.nan, math.nan, cols.n_records)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=iters)
    reps = np.asarray(metric.fn(cols.totals(weights.astype(float))), dtype=float)
    reps = reps[~np.isnan(reps)]
    if reps.size < 2:
        return Interval(value, math.nan, math.nan, math.nan, cols.n_records)
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return Interval(value, float(reps.std(ddof=1)), float(low), float(high), cols.n_records)


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

    lm-eval gives custom aggregations no standard error; ``harness_ext.dialogue.lm_patch`` makes
    its ``stderr_for_metric`` return :meth:`stderr` for these objects.
    """

    def __init__(self, metric: Metric):
        self.metric = metric
        self.__name__ = metric.name

    def __call__(self, items: Iterable[Mapping[str, Any]]) -> float:
        return point(self.metric, list(items))

    def stderr(self, items: Iterable[Mapping[str, Any]], iters: int = DEFAULT_ITERS) -> float:
        return estimate(self.metric, list(items), iters=min(iters, DEFAULT_ITERS)).stderr
