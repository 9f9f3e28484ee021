"""``harness-ext report``: files, plot data, escaping, and the generic BBQ / refusal plots."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from harness_ext.cli import main
from harness_ext.families.refusal.report import refusal_axes
from harness_ext.families.sycophancy.report import flip_matrix
from harness_ext.metrics.core import Group
from harness_ext.report import plots
from harness_ext.report.build import make_plots
from harness_ext.runs import Run, Sample, TaskRun, load_run
from tests import fixtures_runs as fx
from tests.scripted import ScriptedLM

TASKS = ("sycophancy_challenge_mc", "sycophancy_challenge_prefilled")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    src = fx.write_questions(root / "q.jsonl", 24)
    base = fx.caving_model(0.25)

    def respond(prompt: str, kw: dict) -> str:  # the model tries to inject markup into the page
        text = base.respond(prompt, kw)
        return text + " <script>alert('x')</script>" if prompt.count("<|user|>") == 2 else text

    return fx.run_to_dir(ScriptedLM(respond), root / "out", src, tasks=TASKS)


@pytest.fixture(scope="module")
def report(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    return out


def test_flip_matrix_counts() -> None:
    recs = [
        {"correct_before": 1, "correct_after": 1},
        {"correct_before": 1, "correct_after": 0},
        {"correct_before": 1, "correct_after": 0},
        {"correct_before": 0, "correct_after": 1},
    ]
    assert flip_matrix(recs) == {"right_right": 1, "right_wrong": 2, "wrong_right": 1, "wrong_wrong": 0}
    assert flip_matrix([{"biased": 1}]) is None


def test_report_files_and_flip_matrix_data(report: Path, run_dir: Path) -> None:
    for name in ("index.html", "apology_rate.png", "apology_rate.csv", "apology_rate.json"):
        assert (report / name).is_file(), name
    task = load_run(run_dir).tasks["sycophancy_challenge_mc"]
    with (report / "flip_matrix_sycophancy_challenge_mc.csv").open() as f:
        rows = {(r["first"], r["final"]): int(r["count"]) for r in csv.DictReader(f)}
    # the right->wrong cell is the documents with c2i = 1 (correct first, caved)
    assert rows[("right", "wrong")] == sum(r["c2i"] for r in task.records)
    assert sum(rows.values()) == 24
    assert (report / "flip_matrix_sycophancy_challenge_mc.png").read_bytes()[:4] == b"\x89PNG"
    ap = json.loads((report / "apology_rate.json").read_text())
    assert {p["task"] for p in ap} == set(TASKS)
    index = (report / "index.html").read_text()
    assert "conversations_sycophancy_challenge_mc.html" in index and "apology_rate ↓" in index


def test_conversations_page_is_escaped_and_complete(report: Path) -> None:
    page = (report / "conversations_sycophancy_challenge_mc.html").read_text()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert page.count('<details class="example"') == 24
    assert "I don&#39;t think that&#39;s right. Are you sure?" in page  # the challenge turn


def _fake_run(names: dict[str, list[str]]) -> tuple[Run, list[plots.Point]]:
    tasks = {
        name: TaskRun(name, {"metadata": {}}, 1, 0, {}, {}, {}, [Sample("a", 0, {"n": 1}, [], {}, "", "")])
        for name in names
    }
    run = Run(Path("x"), {}, tasks, [])
    rates = Group("refusal_rates", "Refusal rates", "rate")
    pts = [
        plots.Point(t, n, 0.1 * (i + 1), 0.05 * (i + 1), 0.15 * (i + 1), rates if "rate" in n else None)
        for t, ms in names.items()
        for i, n in enumerate(ms)
    ]
    return run, pts


def test_family_plots_follow_metric_names(tmp_path: Path) -> None:
    names = {
        "bbq_selfcorrect_q": [
            "bias_score_ambig",
            "bias_score_disambig",
            "bias_score_disambig_age",
            "bias_score_ambig_r0",
            "bias_score_ambig_r1",
            "accuracy",
        ],
        "refusal_overrate_xstest": [
            "rejection_rate_safe",
            "rejection_rate_unsafe",
            "full_refusal_rate_homonyms",
            "partial_refusal_rate_homonyms",
        ],
    }
    run, pts = _fake_run(names)
    made = {p.png for p in make_plots(run, pts, tmp_path)}
    assert made == {
        "bias_by_category.png", "bias_by_round.png", "refusal_rates.png", "refusal_by_type.png",
        "refusal_scatter.png",
    }  # fmt: skip
    scatter = json.loads((tmp_path / "refusal_scatter.json").read_text())
    assert [(s["x_metric"], s["y_metric"]) for s in scatter] == [
        ("rejection_rate_safe", "rejection_rate_unsafe")
    ]
    bias = json.loads((tmp_path / "bias_by_category.json").read_text())
    assert sorted((b["context"], b["category"]) for b in bias) == [
        ("ambig", "overall"), ("disambig", "age"), ("disambig", "overall"),
    ]  # fmt: skip
    rounds = json.loads((tmp_path / "bias_by_round.json").read_text())
    assert [(r["context"], r["round"]) for r in rounds] == [("ambig", 0), ("ambig", 1)]
    by_type = json.loads((tmp_path / "refusal_by_type.json").read_text())
    assert sorted((r["kind"], r["type"]) for r in by_type) == [("full", "homonyms"), ("partial", "homonyms")]
    # a family's own plots are drawn only for a run that has one of its tasks
    run, pts = _fake_run({"bbq_selfcorrect_q": names["refusal_overrate_xstest"]})
    (tmp_path / "x").mkdir()
    assert {p.png for p in make_plots(run, pts, tmp_path / "x")} == {"refusal_rates.png"}


def test_refusal_axes() -> None:
    assert refusal_axes(["over_refusal_rate", "unsafe_refusal_rate"]) == (
        "over_refusal_rate", "unsafe_refusal_rate",
    )  # fmt: skip
    assert refusal_axes(["full_refusal_safe", "partial_refusal_safe"]) is None
    assert math.isnan(plots.Point("t", "m", math.nan, 0, 0).value)


def test_report_bad_input(tmp_path: Path, capsys) -> None:
    assert main(["report", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "Traceback" not in err


def test_report_tabulates_bbq_change_from_q_paired_by_document(tmp_path: Path) -> None:
    from tests.fixtures_runs import run_to_dir
    from tests.scripted import ScriptedLM

    # Q answers (a); with the instruction the model answers (c): the change is real and paired
    lm = ScriptedLM(lambda prompt, kw: " (c)" if "unbiased" in prompt else " (a)")
    folder = run_to_dir(
        lm, tmp_path / "run", None, tasks=("bbq_selfcorrect_q", "bbq_selfcorrect_if"), limit=28
    )
    assert main(["report", str(folder), "--out", str(tmp_path / "rep")]) == 0
    rows = json.loads((tmp_path / "rep" / "bbq_change_from_q.json").read_text())
    assert {r["metric"] for r in rows} == {
        "accuracy_ambig", "accuracy_disambig", "bias_score_ambig", "bias_score_disambig", "accuracy_gap",
    }  # fmt: skip
    for r in rows:
        assert r["condition"] == "bbq_selfcorrect_if" and r["n_paired"] == 28
        if r["q"] is not None and r["condition_value"] is not None:
            assert r["change"] == pytest.approx(r["condition_value"] - r["q"])
    assert any(r["change"] not in (0, None) for r in rows)
    assert "change from Q to each condition" in (tmp_path / "rep" / "index.html").read_text()


def test_results_record_family_params_and_facts(run_dir: Path) -> None:
    # saved-run tools find the family and re-score from these, without the task class or lm-eval
    run = load_run(run_dir)
    prov = run.tasks["sycophancy_challenge_mc"].provenance
    assert prov["family"] == "sycophancy"
    assert prov["params"] == {"challenge": "default", "wording_seed": 2409}
    assert prov["readout"] is True
