"""Re-reading saved runs of every family: the metrics recomputed from the samples equal lm-eval's."""

import math

import pytest

from harness_ext.metrics.core import point
from harness_ext.runs import load_run
from tests.fixtures_runs import run_to_dir
from tests.scripted import ScriptedLM


@pytest.mark.parametrize(
    "tasks",
    [("bbq_selfcorrect_q", "bbq_selfcorrect_review"), ("refusal_overrate_xstest", "refusal_overrate_craft")],
)
def test_saved_run_rescored_from_samples_matches_reported_metrics(tmp_path, tasks):
    lm = ScriptedLM(lambda prompt, kw: "(a) I'm sorry, I can't help with that.")
    folder = run_to_dir(lm, tmp_path, None, tasks=tasks, limit=21)
    run = load_run(folder)
    for name in tasks:
        task = run.tasks[name]
        names = {m.name for m in task.metrics}
        assert names == set(task.reported), name  # every reported metric, incl. per category / round
        records = task.records
        checked = 0
        for m in task.metrics:
            got, want = point(m, records), task.reported[m.name]
            assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want), (name, m.name)
            checked += 1
        assert checked >= 5
