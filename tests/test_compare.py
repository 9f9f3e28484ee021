"""``harness-ext compare``: statistics, refusals and the end-to-end gate on lm-eval result folders."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

from harness_ext.cli import main
from harness_ext.compare import (
    binary_outcomes,
    bootstrap_p,
    compare_runs,
    holm,
    mcnemar_exact,
    min_effect_for,
    parse_min_effects,
)
from harness_ext.families.sycophancy import metrics_for_task
from harness_ext.metrics.core import Metric, ratio
from harness_ext.metrics.sycophancy import accuracy_before, apology_rate, heterogeneity_metrics
from harness_ext.runs import Run, Sample, TaskRun
from tests import fixtures_runs as fx

N_DOCS = 240


# --------------------------------------------------------------------------- pure functions
def test_holm_matches_hand_computation() -> None:
    # p sorted: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04); NaN is not counted
    assert holm([0.04, 0.01, math.nan, 0.02]) == pytest.approx([0.04, 0.03, math.nan, 0.04], nan_ok=True)
    # monotone: 0.001*3 = 0.003, then max(0.003, 0.5*2) = 1.0, then max(1.0, 0.9) = 1.0
    assert holm([0.001, 0.5, 0.9]) == pytest.approx([0.003, 1.0, 1.0])


def test_mcnemar_exact_counts_discordant_pairs() -> None:
    b = np.array([1, 1, 1, 0, 1, 0])
    c = np.array([0, 0, 0, 0, 1, 0])
    # 3 pairs got worse, 0 better: two-sided binomial P = 2 * (1/2)**3 = 0.25
    assert mcnemar_exact(b, c) == pytest.approx(0.25)
    assert mcnemar_exact(b, b) == 1.0


def test_bootstrap_p_two_sided() -> None:
    # 1 of 99 differences <= 0: p = 2 * (1 + 1) / (99 + 1) = 0.04
    d = np.concatenate([np.full(98, 0.1), [-0.1]])
    assert bootstrap_p(d) == pytest.approx(2 * 2 / 100)
    assert bootstrap_p(np.zeros(10)) == 1.0


def _recs(**cols: list[int]) -> list[dict[str, int | str]]:
    n = len(next(iter(cols.values())))
    return [{"cluster": f"d{i}", **{k: v[i] for k, v in cols.items()}} for i in range(n)]


def test_binary_outcomes_classifies_metrics() -> None:
    base = _recs(n=[1, 1, 1, 1], correct_before=[1, 1, 0, 1], admits_cb=[0, 1, 0, 0])
    cur = _recs(n=[1, 1, 1, 1], correct_before=[1, 1, 0, 1], admits_cb=[1, 1, 0, 0])
    b, c = binary_outcomes(accuracy_before, base, cur)  # type: ignore[misc]
    assert list(b) == [1, 1, 0, 1]
    # apology_rate = admits_cb / correct_before: defined on docs 0, 1, 3 in both runs
    b, c = binary_outcomes(apology_rate, base, cur)  # type: ignore[misc]
    assert list(b) == [0, 1, 0] and list(c) == [1, 1, 0]
    # undefined on different documents in the two runs: not a paired binary outcome
    cur2 = _recs(n=[1, 1, 1, 1], correct_before=[0, 1, 1, 1], admits_cb=[0, 1, 0, 0])
    assert binary_outcomes(apology_rate, base, cur2) is None
    # a denominator of 2 per record is not binary
    per2 = Metric("x", ratio("hits", "n"), True)
    assert binary_outcomes(per2, _recs(n=[2, 2], hits=[1, 2]), _recs(n=[2, 2], hits=[1, 2])) is None
    (wording_p, _) = heterogeneity_metrics(2)
    assert binary_outcomes(wording_p, base, cur) is None


def test_min_effects() -> None:
    syc = {
        m.name: m for m in metrics_for_task("sycophancy_challenge_paraphrase", {"challenge": "paraphrases"})
    }
    assert min_effect_for(syc["apology_rate"], {}, 0.05) == 0.05  # declares none: the default
    assert min_effect_for(syc["apology_rate"], {}, 0.02) == 0.02
    assert min_effect_for(syc["unparsed_rate"], {}, 0.05) == 0.03  # the family's own
    assert min_effect_for(syc["unparsed_rate"], {"unparsed_*": 0.2}, 0.05) == 0.2  # override wins
    spread = Metric("apology_rate_spread", ratio("hits", "n"), False, min_effect=0.10)
    assert min_effect_for(spread, {}, 0.05) == 0.10
    assert parse_min_effects(["apology_rate=0.03"]) == {"apology_rate": 0.03}
    with pytest.raises(ValueError, match="METRIC=NUMBER"):
        parse_min_effects(["apology_rate"])


# --------------------------------------------------------------------------- synthetic calibration
def _synthetic_run(caves: np.ndarray, first_right: np.ndarray) -> Run:
    samples = []
    for i, (cv, cb) in enumerate(zip(caves, first_right, strict=True)):
        ca = cb and not cv
        rec = {
            "cluster": f"d{i}", "n": 1, "correct_before": int(cb), "incorrect_before": int(not cb),
            "correct_after": int(ca), "admits": int(cv), "admits_cb": int(cv and cb),
            "c2i": int(cb and not ca), "i2c": 0, "answers": 2, "unparsed": 0,
        }  # fmt: skip
        samples.append(Sample(f"d{i}", i, rec, [], {}, "", ""))
    task = TaskRun("sycophancy_challenge_mc", {"metadata": {}}, 1.0, 0, {}, {}, {}, samples)
    return Run(Path("synthetic"), {}, {task.name: task}, [])


def test_false_alarm_rate_under_noise_is_low() -> None:
    # 40 pairs of runs of the same model (each doc caves with probability 0.15, independently):
    # the gate may fire on at most 5% of them in expectation; allow 2 of 40.
    rng = np.random.default_rng(7)
    n = 300
    first = rng.random(n) > 0.2
    alarms = 0
    for _ in range(40):
        a = _synthetic_run(rng.random(n) < 0.15, first)
        b = _synthetic_run(rng.random(n) < 0.15, first)
        alarms += compare_runs(a, b, iters=200).exit_code
    assert alarms <= 2


def test_power_on_a_ten_point_rise() -> None:
    u = np.random.default_rng(3).random(300)
    first = np.ones(300, bool)
    comp = compare_runs(_synthetic_run(u < 0.10, first), _synthetic_run(u < 0.20, first), iters=1000)
    assert comp.exit_code == 1
    assert {r.metric for r in comp.regressions} >= {"apology_rate", "flip_correct_to_incorrect"}


# --------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("compare")
    src = fx.write_questions(root / "questions.jsonl", N_DOCS)
    models = {
        "base": fx.caving_model(0.10),
        "cur": fx.caving_model(0.20),
        "seed1": fx.caving_model(0.15, seed=1),
        "seed2": fx.caving_model(0.15, seed=2),
    }
    return {name: fx.run_to_dir(lm, root / name, src) for name, lm in models.items()}


def _expected_counts() -> tuple[int, int]:
    """(initially correct docs, docs that cave at 20% but not at 10%), from the fixture's draws."""
    right = [i for i in range(N_DOCS) if fx.draw(i, -1) >= 0.2]
    newly = [i for i in right if 0.10 <= fx.draw(i, None) < 0.20]
    return len(right), len(newly)


def test_planted_regression_is_caught(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "delta.json"
    assert main(["compare", str(runs["base"]), str(runs["cur"]), "--json", str(out)]) == 1
    md = capsys.readouterr().out
    assert "| sycophancy_challenge_mc | apology_rate ↓ |" in md and "**regression**" in md
    rows = {r["metric"]: r for r in json.loads(out.read_text())["rows"]}
    n_right, newly = _expected_counts()
    assert newly >= 15  # the planted change is about 10% of the initially correct documents
    ap = rows["apology_rate"]
    assert ap["delta"] == pytest.approx(newly / n_right)
    assert ap["test"] == "McNemar exact" and ap["n_pairs"] == n_right
    # all discordant pairs go the same way: p = 2 * 0.5**newly, times at most the task's metrics (Holm)
    assert ap["p"] == pytest.approx(binomtest(0, newly, 0.5).pvalue)
    n_metrics = len(metrics_for_task("sycophancy_challenge_mc", {}))
    assert ap["p_holm"] <= n_metrics * ap["p"] < 1e-3
    assert ap["low"] > 0 and ap["verdict"] == "regression"
    assert rows["accuracy_before"]["verdict"] == "no significant change"
    assert rows["accuracy_after"]["delta"] == pytest.approx(-newly / N_DOCS)


def test_run_to_run_noise_does_not_fire(runs: dict[str, Path], capsys) -> None:
    assert main(["compare", str(runs["seed1"]), str(runs["seed2"])]) == 0
    md = capsys.readouterr().out
    assert "**no regression**" in md and "**regression**" not in md


def test_same_run_has_zero_deltas(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    assert main(["compare", str(runs["base"]), str(runs["base"]), "--json", str(out)]) == 0
    assert all(r["delta"] in (0.0, None) for r in json.loads(out.read_text())["rows"])


def test_min_effect_overrides_keep_small_harm_from_failing(runs: dict[str, Path], capsys) -> None:
    argv = ["compare", str(runs["base"]), str(runs["cur"]), "--min-effect-default", "0.5"]
    assert main(argv) == 0
    assert "worse, below min effect" in capsys.readouterr().out
    argv = ["compare", str(runs["base"]), str(runs["cur"]), "--min-effect-default", "0.5"]
    assert main([*argv, "--min-effect", "apology_rate=0.05"]) == 1


def _copy(run: Path, tmp_path: Path) -> tuple[Path, Path]:
    dst = tmp_path / "copy"
    shutil.copytree(run, dst)
    (res,) = dst.glob("results_*.json")
    return dst, res


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r["versions"].update(
                sycophancy_challenge_mc=float(r["versions"]["sycophancy_challenge_mc"]) + 1
            ),
            "task versions differ",
        ),
        (lambda r: r["n-shot"].update(sycophancy_challenge_mc=3), "n-shot differ"),
        (lambda r: _prov(r).update(data_sha256="0" * 64), "data hashes differ"),
        (lambda r: _prov(r)["prompt_sha256"].update({"sycophancy/challenge.j2": "x"}), "challenge.j2"),
    ],
)
def test_refuses_incomparable_runs(runs: dict[str, Path], tmp_path: Path, capsys, edit, message) -> None:
    dst, res = _copy(runs["base"], tmp_path)
    data = json.loads(res.read_text())
    edit(data)
    res.write_text(json.dumps(data))
    assert main(["compare", str(runs["base"]), str(dst)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _prov(results: dict) -> dict:
    return results["configs"]["sycophancy_challenge_mc"]["metadata"]["provenance"]


def test_refuses_different_sample_sets(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    dst, res = _copy(runs["base"], tmp_path)
    (samples,) = dst.glob("samples_*.jsonl")
    samples.write_text("\n".join(samples.read_text().splitlines()[:-1]) + "\n")
    data = json.loads(res.read_text())
    data["n-samples"]["sycophancy_challenge_mc"]["effective"] = N_DOCS - 1
    res.write_text(json.dumps(data))
    assert main(["compare", str(runs["base"]), str(dst)]) == 2
    assert "sample sets differ" in capsys.readouterr().err


def test_bad_inputs_get_one_line_errors(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"accuracy": 0.5}))
    dst, _ = _copy(runs["base"], tmp_path)
    (samples,) = dst.glob("samples_*.jsonl")
    text = samples.read_text()
    samples.write_text(text[: len(text) // 2])  # cut mid-line
    cases = [
        (tmp_path / "missing", "no such file or folder"),
        (other, "not an lm-eval results file"),
        (dst, "is the file truncated?"),
    ]
    for path, message in cases:
        assert main(["compare", str(runs["base"]), str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err, err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _set_resources(path: Path, hashes: dict[str, str]) -> None:
    data = json.loads(path.read_text())
    _prov(data)["resource_sha256"] = hashes
    path.write_text(json.dumps(data))


def test_resource_hashes_checked_when_both_runs_record_them(
    runs: dict[str, Path], tmp_path: Path, capsys
) -> None:
    """A scorer's data file (BBQ's vocabulary) that changed makes the runs incomparable; a run
    recorded before resource hashes existed is compared on the rest."""
    base = tmp_path / "base"
    shutil.copytree(runs["base"], base)
    (base_res,) = base.glob("results_*.json")
    dst, res = _copy(runs["base"], tmp_path)
    _set_resources(res, {"bbq/vocabulary.yaml": "a" * 64})
    assert main(["compare", str(base), str(dst)]) == 0  # baseline records none: not checked
    capsys.readouterr()
    _set_resources(base_res, {"bbq/vocabulary.yaml": "b" * 64})
    assert main(["compare", str(base), str(dst)]) == 2
    err = capsys.readouterr().err
    assert "resource hashes differ (files: bbq/vocabulary.yaml)" in err
