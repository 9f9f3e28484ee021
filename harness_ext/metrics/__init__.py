"""Metric registry: declarative metrics over per-sample records, with bootstrap intervals."""

from harness_ext.metrics.core import Interval, Metric, estimate, point, ratio

__all__ = ["Interval", "Metric", "estimate", "point", "ratio"]
