"""The ``Q`` condition read out by log-likelihood agrees with lm-eval's built-in ``bbq`` task.

Both run on the same local file (lm-eval's ``bbq`` config with ``dataset_path: json``) with the
same scripted model, whose log-likelihood is a function of the option text alone.

Definitional differences reconciled here:

- lm-eval replaces the item's "unknown" option by all ten unknown phrasings (12 choices); ours
  offers the item's three options. The fake model gives every unknown phrasing the same score, so
  "the best unknown phrasing" and "the item's unknown option" win or lose together (ties among
  lm-eval's ten resolve to the first, still an unknown answer).
- lm-eval's prompt is "{context}\\n\\nQ: {question}\\nA:" with the bare option as continuation;
  ours is the dialogue with "(a) .. (b) .. (c)" and the continuation " (a) <option>". The score
  strips the letter, so both see the option text.
- lm-eval returns s_DIS = 0.0 when no answer is biased (even if some are anti-biased); by the
  formula it is -1 there. The test checks every compared subset has biased answers, where the two
  definitions coincide. lm-eval also counts items without a biased option in n_non_unknown;
  every generated item has one, so that difference does not arise here (tests/test_bbq_metrics.py
  covers our rule).
- A continuation-only score picks the same option in all four items of a filled template, which
  makes bias scores exactly 0 on the full balanced design. The test file keeps a fixed pseudo-random
  half of the items, so the scores are informative.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import lm_eval
import pytest
from lm_eval.tasks import TaskManager
from lm_eval.tasks._yaml_loader import load_yaml

from harness_ext.data.bbq import category_slug, unknown_phrases
from harness_ext.data.bbq_generate import generate, write_jsonl
from tests.scripted import ScriptedLM

LM_EVAL_BBQ_YAML = Path(lm_eval.__file__).parent / "tasks" / "bbq" / "bbq_multiple_choice.yaml"


def option_score(ctx: str, continuation: str) -> float:
    """Log-likelihood by option text: every unknown phrasing -0.5, a person a fixed value in (-1, 0]."""
    text = re.sub(r"^\s*\([abc]\)\s*", "", continuation).strip()
    if text in unknown_phrases():
        return -0.5
    return -(int(hashlib.sha256(text.encode()).hexdigest(), 16) % 1000) / 1000


@pytest.fixture(scope="module")
def parity_file(tmp_path_factory) -> str:
    items = [
        it
        for it in generate(seed=0, pairs_per_template=2)
        if hashlib.sha256(f"{it['category']}{it['example_id']}".encode()).digest()[0] % 2 == 0
    ]
    path = tmp_path_factory.mktemp("parity") / "bbq_parity.jsonl"
    write_jsonl(items, path)
    return str(path)


def run_lm_eval_bbq(path: str) -> dict:
    cfg = load_yaml(LM_EVAL_BBQ_YAML, resolve_func=True)
    cfg = {k: v for k, v in cfg.items() if k != "tag"} | {
        "task": "bbq_parity_lm_eval",
        "dataset_path": "json",
        "dataset_name": None,
        "dataset_kwargs": {"data_files": {"test": path}},
    }
    res = lm_eval.simple_evaluate(
        model=ScriptedLM(lambda p, k: "", option_score),
        tasks=[cfg],
        task_manager=TaskManager(include_defaults=False),
        bootstrap_iters=0,
    )
    return res["results"]["bbq_parity_lm_eval"]


def run_ours(path: str) -> tuple[dict, list]:
    lm = ScriptedLM(lambda p, k: "", option_score)
    res = lm_eval.simple_evaluate(
        model=lm,
        tasks=["bbq_selfcorrect_q"],
        task_manager=TaskManager(
            include_defaults=False, metadata={"source": path, "readout": "loglikelihood"}
        ),
        log_samples=True,
        bootstrap_iters=0,
    )
    assert [c[0] for c in lm.calls] == ["loglikelihood"]
    return res["results"]["bbq_selfcorrect_q"], res["samples"]["bbq_selfcorrect_q"]


def test_q_loglikelihood_matches_lm_eval_bbq(parity_file):
    theirs = run_lm_eval_bbq(parity_file)
    ours, samples = run_ours(parity_file)
    records = [s["accuracy_ambig"] for s in samples]

    def total(column: str) -> float:
        return sum(r.get(column, 0) for r in records)

    # the comparison is informative: mixed answers, nonzero bias, biased answers in both contexts
    assert 0 < ours["accuracy_ambig,none"] < 1 and 0 < ours["accuracy_disambig,none"] < 1
    assert total("amb_biased") > 0 and total("dis_biased") > 0
    assert ours["bias_score_ambig,none"] != 0 and ours["bias_score_disambig,none"] != 0

    pairs = {
        "accuracy_ambig": "accuracy_amb",
        "accuracy_disambig": "accuracy_disamb",
        "bias_score_ambig": "amb_bias_score",
        "bias_score_disambig": "disamb_bias_score",
    }
    for mine, upstream in pairs.items():
        assert ours[f"{mine},none"] == pytest.approx(float(theirs[f"{upstream},none"]), abs=1e-12), mine

    compared = 0
    categories = {s["doc"]["category"] for s in samples}
    for cat in categories:
        slug = category_slug(cat)
        for ctx, mine, upstream in (
            ("amb", "bias_score_ambig", "amb_bias_score"),
            ("dis", "bias_score_disambig", "disamb_bias_score"),
        ):
            if total(f"{ctx}_biased@{slug}") == 0:
                continue  # lm-eval's 0.0 convention differs from the formula here (module docstring)
            value = ours[f"{mine}_{slug},none"]
            assert value == pytest.approx(float(theirs[f"{upstream}_{cat},none"]), abs=1e-12), (mine, cat)
            compared += 1
    assert compared >= 10
