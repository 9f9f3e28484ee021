"""``harness-ext submit`` and ``harness-ext validate`` on lm-eval result folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness_ext.cli import main
from harness_ext.data.sycophancy import BUNDLED_FILE
from harness_ext.leaderboard.canonical import CANONICAL, compute, load_canonical
from harness_ext.metrics.core import estimate
from harness_ext.metrics.sycophancy import apology_rate
from harness_ext.runs import load_run
from harness_ext.submit import build_submission, pack_records, parse_model_args, unpack_records
from harness_ext.validate import validate_submission
from tests import fixtures_runs as fx

TASK = "sycophancy_challenge_mc"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("submit")
    mini = fx.write_questions(root / "q.jsonl", 30)
    lm = fx.caving_model(0.2, questions=BUNDLED_FILE)
    return {
        "canonical": fx.run_to_dir(lm, root / "canonical", None),
        "limited": fx.run_to_dir(lm, root / "limited", None, limit=20),
        "custom": fx.run_to_dir(fx.caving_model(0.2), root / "custom", mini),
    }


@pytest.fixture(scope="module")
def submission(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sub") / "sub.json"
    assert main(["submit", str(runs["canonical"]), "--to", str(out)]) == 0
    return out


def test_canonical_json_is_up_to_date() -> None:
    # regenerate with: python -m harness_ext.leaderboard.canonical
    assert load_canonical(CANONICAL) == json.loads(json.dumps(compute()))


def test_records_round_trip_and_digest() -> None:
    recs = {"t": [["a", {"n": 1, "cluster": "a"}]]}
    blob, digest = pack_records(recs)
    assert unpack_records(blob) == (recs, digest)
    assert pack_records(recs) == (blob, digest)  # deterministic (gzip mtime fixed)


def test_parse_model_args() -> None:
    assert parse_model_args("pretrained=org/m,revision=abc,dtype=bfloat16") == {
        "pretrained": "org/m", "revision": "abc", "dtype": "bfloat16",
    }  # fmt: skip
    assert parse_model_args(None) == {}


def test_submission_contents(submission: Path, runs: dict[str, Path]) -> None:
    sub = json.loads(submission.read_text())
    run = load_run(runs["canonical"])
    t = sub["tasks"][TASK]
    assert t["provenance"] == run.tasks[TASK].provenance
    assert t["n_samples"] == {"original": 320, "effective": 320}
    ap = t["metrics"]["apology_rate"]
    iv = estimate(apology_rate, run.tasks[TASK].records, iters=1000, seed=1234)
    assert (ap["value"], ap["ci_low"], ap["ci_high"]) == (iv.value, iv.low, iv.high)
    assert ap["reported"] == pytest.approx(run.tasks[TASK].reported["apology_rate"])
    assert ap["higher_is_better"] is False
    assert sub["run"]["chat_template_sha"] == run.results["chat_template_sha"]
    assert sub["run"]["seeds"]["numpy_seed"] == 1234
    assert sub["software"]["lm_eval"] == "0.4.13"
    records, digest = unpack_records(sub["records"]["data"])
    assert digest == sub["records_sha256"] and len(records[TASK]) == 320


def test_valid_submission_passes(submission: Path, capsys) -> None:
    assert main(["validate", str(submission)]) == 0
    assert "valid" in capsys.readouterr().out


def _tamper(sub: dict, how: str) -> dict:
    metrics = sub["tasks"][TASK]["metrics"]
    if how == "value":
        metrics["apology_rate"]["value"] -= 0.05
    elif how == "ci":
        metrics["truthfulness"]["ci_high"] = 1.0
    elif how == "records":
        records, _ = unpack_records(sub["records"]["data"])
        records[TASK][0][1]["admits_cb"] = 1 - records[TASK][0][1]["admits_cb"]
        sub["records"]["data"], _ = pack_records(records)  # digest left as it was
    elif how == "records+digest":
        records, _ = unpack_records(sub["records"]["data"])
        for _, rec in records[TASK]:
            rec["admits_cb"] = 0
        sub["records"]["data"], sub["records_sha256"] = pack_records(records)
    elif how == "garbage":
        sub["records"]["data"] = "not base64!"
    elif how == "metric":
        del metrics["confidence"]
    return sub


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("value", "apology_rate: value"),
        ("ci", "truthfulness: ci_high"),
        ("records", "tampered"),
        ("records+digest", "does not match the recomputed"),
        ("garbage", "cannot decode"),
        ("metric", "missing: ['confidence']"),
    ],
)
def test_tampered_submissions_are_rejected(submission: Path, tmp_path: Path, capsys, how, reason) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_tamper(json.loads(submission.read_text()), how)))
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert reason in err and "Traceback" not in err


def test_partial_and_noncanonical_runs_are_rejected(runs: dict[str, Path]) -> None:
    limited = validate_submission(build_submission(load_run(runs["limited"])))
    assert "partial run: lm_eval was run with --limit 20" in limited
    assert any("partial run (20 records, canonical data has 320)" in r for r in limited)
    custom = validate_submission(build_submission(load_run(runs["custom"])))
    assert any("non-canonical data" in r for r in custom)


def test_unknown_task_and_format(submission: Path) -> None:
    sub = json.loads(submission.read_text())
    assert validate_submission({"format": "x"})[0].startswith("not a harness-ext submission")
    assert any("not a leaderboard task" in r for r in validate_submission(sub, canonical={}))


def test_every_eval_ever_export(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "eee.json"
    assert main(["submit", str(runs["canonical"]), "--to", str(out), "--format", "every_eval_ever"]) == 0
    eee = json.loads(out.read_text())
    for key in ("schema_version", "evaluation_id", "retrieved_timestamp", "source_metadata", "model_info",
                "eval_library", "evaluation_results"):  # fmt: skip
        assert key in eee
    assert eee["model_info"]["id"] == "scripted"
    res = {r["evaluation_name"]: r for r in eee["evaluation_results"]}
    ap = res[f"{TASK}/apology_rate"]
    assert ap["metric_config"]["lower_is_better"] is True
    assert ap["source_data"]["source_type"] == "other"
    ci = ap["score_details"]["uncertainty"]["confidence_interval"]
    assert ci["lower"] <= ap["score_details"]["score"] <= ci["upper"]


def test_submit_and_validate_bad_input(tmp_path: Path, capsys) -> None:
    assert main(["submit", str(tmp_path / "nope"), "--to", str(tmp_path / "s.json")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    trunc = tmp_path / "t.json"
    trunc.write_text('{"format": "harness-ext-submission/1", "tas')
    assert main(["validate", str(trunc)]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert "No such file" in err and len(err.strip().splitlines()) == 1
