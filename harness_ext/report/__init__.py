"""HTML reports of a run: metrics with intervals, plots, and every conversation turn by turn."""
