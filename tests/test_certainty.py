"""CRaFT certainty: Cor and Cer by hand, AUROC, reliability bins, the vanilla/IdK selection rules."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness_ext.cli import main
from harness_ext.metrics.certainty import (
    IDK_TARGET,
    QuestionRow,
    auroc,
    auroc_interval,
    certainty_aurocs,
    correctness,
    craft_select,
    question_rows,
    reliability,
)
from harness_ext.metrics.refusal import certainty

REFUSAL_RUN = Path(__file__).resolve().parents[1] / "results" / "smollm2" / "refusal_overrate"


def test_cor_and_cer_by_hand():
    lls = [math.log(0.5), math.log(0.25), math.log(0.25)]
    # Cer = .5 ln .5 + 2 * .25 ln .25 = -(0.5 ln 2 + 0.5 ln 4) = -1.5 ln 2
    assert certainty(lls) == pytest.approx(-1.5 * math.log(2))
    assert correctness(lls, 0) == pytest.approx(0.5)
    assert correctness([x - 7.0 for x in lls], 1) == pytest.approx(0.25)  # shift-invariant
    assert certainty([0.0, 0.0, 0.0, 0.0]) == pytest.approx(-math.log(4))
    assert certainty([0.0, -1000.0]) == pytest.approx(0.0, abs=1e-9)


def test_auroc_by_hand():
    # positives .35 and .8 against negatives .1 and .4: 3 of 4 pairs ordered right
    assert auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert auroc([1.0, 1.0], [0, 1]) == pytest.approx(0.5)  # a tie counts half
    assert math.isnan(auroc([0.1, 0.2], [1, 1]))
    value, low, high = auroc_interval([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0, 0, 0, 1, 1, 1], iters=200)
    assert value == 1.0 and low <= high <= 1.0


def _row(qid, cor, cer, basic=None, refused=None, gold=0):
    doc = {"answer_index": gold, "question": f"q {qid}", "choices": ["w", "x", "y", "z"], "subject": "s"}
    return QuestionRow(qid, cor, cer, int(cor > 0.25), basic, refused, doc)


def test_reliability_bins_sorted_by_certainty():
    rows = [
        _row("a", 0.9, -0.1, 1),
        _row("b", 0.2, -1.3, 0),
        _row("c", 0.7, -0.4, 1),
        _row("d", 0.3, -1.0, 1),
    ]
    table = reliability(rows, bins=2)
    assert [r["n"] for r in table] == [2, 2]
    assert table[0]["accuracy"] == pytest.approx(0.5)  # b (0), d (1)
    assert table[1]["accuracy"] == pytest.approx(1.0)  # c, a
    assert table[0]["cor_mean"] == pytest.approx(0.25)
    assert table[0]["certainty_high"] == pytest.approx(-1.0)


def test_certainty_aurocs_targets():
    rows = [
        _row("a", 0.9, -0.1, 1, 0),
        _row("b", 0.2, -1.3, 0, 1),
        _row("c", 0.7, -0.4, 1, 0),
        _row("d", 0.3, -1.0, 0, 1),
    ]
    out = {r["target"]: r for r in certainty_aurocs(rows, iters=50)}
    assert out["correct_basic"]["auroc"] == pytest.approx(1.0)
    assert out["refused_refuse"]["auroc"] == pytest.approx(1.0)  # low certainty -> refusal
    assert out["refused_refuse"]["predictor"] == "-certainty"
    assert out["correct_basic"]["n_positive"] == 2


def test_craft_select_rules():
    rows = [
        _row("v1", 0.9, -0.1, gold=2),
        _row("v2", 0.6, -0.8),
        _row("v3", 0.5, -0.5),  # Cor == tau: vanilla (code: correct >= 0.5)
        _row("i1", 0.2, -1.3),
        _row("i2", 0.3, -0.9),
        _row("i3", 0.1, -1.1),
    ]
    out = craft_select(rows, tau=0.5)
    van = [r["qid"] for r in out if r["split"] == "vanilla"]
    idk = [r["qid"] for r in out if r["split"] == "idk"]
    assert van == ["v1", "v3", "v2"]  # most certain first
    assert idk == ["i1", "i3", "i2"]  # least certain first
    assert out[0]["target"] == "C"
    assert all(r["target"] == IDK_TARGET for r in out if r["split"] == "idk")
    # sizes keep the extremes
    small = craft_select(rows, tau=0.5, n_van=1, n_idk=2)
    assert [(r["split"], r["qid"]) for r in small] == [("vanilla", "v1"), ("idk", "i1"), ("idk", "i3")]
    # knowledge flow: Cor rises under rehearsal -> dropped; unchanged -> kept (released code)
    rehearsal = {"v1": 0.9, "v2": 0.6, "v3": 0.5, "i1": 0.6, "i2": 0.3, "i3": 0.05}
    flow = craft_select(rows, tau=0.5, rehearsal=rehearsal)
    assert [r["qid"] for r in flow if r["split"] == "idk"] == ["i3", "i2"]
    assert next(r for r in flow if r["qid"] == "i3")["delta_cor"] == pytest.approx(-0.05)
    with pytest.raises(ValueError, match="tau"):
        craft_select(rows, tau=1.5)
    with pytest.raises(ValueError, match="rehearsal"):
        craft_select(rows, rehearsal={"v1": 0.9})


def _sample(qid, variant, record, transcript=(), gold=1):
    doc = {"qid": qid, "variant": variant, "answer_index": gold, "choices": ["a", "b"], "question": "?"}
    return SimpleNamespace(key=f"{qid}-{variant}", doc=doc, record=record, transcript=list(transcript))


def test_question_rows_pair_variants():
    lls = [math.log(0.2), math.log(0.8)]
    samples = [
        _sample("q1", "basic", {"correct_basic": 1}),
        _sample("q1", "refuse", {"refused_refuse": 0}),
        _sample("q1", "certainty", {}, [{"role": "assistant", "loglikelihoods": lls}]),
        _sample("q2", "basic", {"correct_basic": 0}),  # no read-out: left out
    ]
    (row,) = question_rows(samples)
    assert row.qid == "q1" and row.cor == pytest.approx(0.8) and row.readout_correct == 1
    assert row.cer == pytest.approx(0.2 * math.log(0.2) + 0.8 * math.log(0.8))
    assert (row.correct_basic, row.refused_refuse) == (1, 0)


@pytest.mark.skipif(not REFUSAL_RUN.is_dir(), reason="committed reference run absent")
def test_craft_select_cli_on_committed_run(tmp_path, capsys):
    out = tmp_path / "split.jsonl"
    assert main(["craft-select", str(REFUSAL_RUN), "--tau", "0.5", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and {r["split"] for r in rows} <= {"vanilla", "idk"}
    assert all((r["cor"] >= 0.5) == (r["split"] == "vanilla") for r in rows)
    van = [r["cer"] for r in rows if r["split"] == "vanilla"]
    assert van == sorted(van, reverse=True)
    assert "vanilla" in capsys.readouterr().out
    assert main(["craft-select", str(REFUSAL_RUN), "--tau", "2", "--out", str(out)]) == 2


@pytest.mark.skipif(not REFUSAL_RUN.is_dir(), reason="committed reference run absent")
def test_report_reliability_plot(tmp_path):
    from harness_ext.families.refusal.certainty_plots import certainty_plots
    from harness_ext.runs import load_run

    run = load_run(REFUSAL_RUN)
    made = certainty_plots(run, tmp_path)
    assert [p.png for p in made] == ["certainty_reliability_refusal_overrate_craft.png"]
    table = json.loads((tmp_path / made[0].json).read_text())
    # every question of the run (each asked three ways) is in one certainty bin
    assert sum(r["n"] for r in table) == len(run.tasks["refusal_overrate_craft"].samples) // 3
    aurocs = json.loads((tmp_path / "certainty_auroc_refusal_overrate_craft.json").read_text())
    assert {a["target"] for a in aurocs} == {"correct_basic", "readout_correct", "refused_refuse"}
