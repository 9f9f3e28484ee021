"""Column-total metrics and the clustered bootstrap."""

import math

import numpy as np
import pytest

from harness_ext.metrics.core import Aggregation, Columns, Metric, estimate, point, ratio, safe_div


def test_safe_div_is_nan_on_empty_denominator_not_zero():
    out = safe_div(np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    assert out[0] == 0.5
    assert math.isnan(out[1])


def test_ratio_of_totals_is_not_a_mean_of_ratios():
    # apology rate among initially correct: numerators 1,0,1 over denominators 1,1,0 -> wait, the
    # third record is not initially correct so it cannot count: 1 / 2 = 0.5
    recs = [
        {"admits_cb": 1, "correct_before": 1},
        {"admits_cb": 0, "correct_before": 1},
        {"admits_cb": 0, "correct_before": 0},
    ]
    m = Metric("apology_rate", ratio("admits_cb", "correct_before"), False)
    assert point(m, recs) == pytest.approx(0.5)


def test_missing_column_counts_as_zero_and_empty_ratio_is_nan():
    m = Metric("r", ratio("x", "y"), True)
    assert math.isnan(point(m, [{"x": 1}]))
    assert point(m, [{"y": 2}]) == 0.0


def test_columns_sum_per_cluster_and_ignore_strings():
    cols = Columns(
        [
            {"cluster": "t1", "a": 1, "s": "text"},
            {"cluster": "t1", "a": 2},
            {"cluster": "t2", "a": 5, "b": True},
        ]
    )
    assert cols.names == ["a", "b"]
    assert cols.matrix.tolist() == [[3.0, 0.0], [5.0, 1.0]]
    assert cols.totals()["a"] == 8.0


def test_bootstrap_interval_brackets_the_value_and_matches_binomial_se():
    # 400 independent 0/1 records with mean 0.25: bootstrap SE ~ sqrt(p(1-p)/n) = 0.02165
    recs = [{"hit": int(i % 4 == 0), "n": 1} for i in range(400)]
    m = Metric("rate", ratio("hit", "n"), True)
    iv = estimate(m, recs, iters=2000, seed=7)
    assert iv.value == pytest.approx(0.25)
    assert iv.low < 0.25 < iv.high
    assert iv.stderr == pytest.approx(math.sqrt(0.25 * 0.75 / 400), rel=0.1)
    assert iv.n == 400


def test_clustered_bootstrap_is_wider_when_items_share_a_cluster():
    # the same 0/1 pattern, but grouped in 20 clusters of 20 identical items: effective n = 20
    flat = [{"hit": int((i // 20) % 2 == 0), "n": 1} for i in range(400)]
    clustered = [r | {"cluster": f"t{i // 20}"} for i, r in enumerate(flat)]
    m = Metric("rate", ratio("hit", "n"), True)
    se_flat = estimate(m, flat, seed=1).stderr
    se_clu = estimate(m, clustered, seed=1).stderr
    assert se_clu > 3 * se_flat


def test_interval_of_undefined_metric_is_nan():
    m = Metric("r", ratio("x", "y"), True)
    iv = estimate(m, [{"x": 1, "y": 0}, {"x": 0, "y": 0}])
    assert math.isnan(iv.value) and math.isnan(iv.stderr)


def test_lm_eval_aggregation_wrapper():
    m = Metric("r", ratio("x", "n"), True)
    agg = Aggregation(m)
    items = [{"x": 1, "n": 1}, {"x": 0, "n": 1}] * 10
    assert agg(items) == 0.5
    assert 0.0 < agg.stderr(items, 100000) < 0.2
    assert agg.__name__ == "r"
