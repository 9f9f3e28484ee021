"""What keeps building the BBQ tasks cheap on full-size data (``benchmarks/bbq_build_cost.py``).

lm-eval's ``ConfigurableTask.__init__`` copies the few-shot pool into a list; without a few-shot
split it falls back to the whole test split, once per task. The ``--limit`` sample reads its
columns from Arrow in one call each, not row by row.
"""

from __future__ import annotations

import dataclasses

import datasets
from lm_eval.tasks import TaskManager, get_task_dict

from harness_ext.data import subset
from harness_ext.data.bbq import answer_groups
from harness_ext.dialogue.script import Script, generate, prefill, read_choices, user


def test_dialogue_tasks_build_no_fewshot_pool() -> None:
    tm = TaskManager(include_defaults=False)
    tasks = get_task_dict(["bbq_selfcorrect_q", "refusal_overrate_xstest"], tm)
    assert len(tasks) == 2
    for task in tasks.values():
        assert task.fewshot_docs() is None
        assert not hasattr(task, "sampler"), "lm-eval built a few-shot sampler over the test split"


def test_column_values_same_for_dataset_and_list() -> None:
    rows = [{"id": f"d{i}", "category": "AB"[i % 2], "n": i} for i in range(7)]
    ds = datasets.Dataset.from_list(rows)
    want = {"category": [r["category"] for r in rows], "id": [r["id"] for r in rows]}
    assert subset.column_values(ds, ["category", "id"]) == want
    assert subset.column_values(rows, ["category", "id"]) == want
    assert subset.column_values(ds, ["missing"]) == {}
    order = subset.stratified_order(want["category"], want["id"], 4, seed=5)
    assert subset.describe(ds, order, 4, 5, ["category"], "id") == subset.describe(
        rows, order, 4, 5, ["category"], "id"
    )


def test_answer_groups_cached_per_entry_string() -> None:
    assert answer_groups(["the woman", "F-Black"]) == {"thewoman", "f", "black"}
    assert answer_groups(["lowSES-F-Black"]) == {"lowses", "f-black"}
    first = answer_groups(["German"])
    assert first == {"german"}  # no gender from "man" inside a word
    first.add("changed")  # the cache hands out a fresh set each call
    assert answer_groups(["German"]) == {"german"}


def test_script_to_dict_is_asdict_with_list_choices() -> None:
    script = Script(
        turns=(
            user("Q?", "question"),
            generate("answer", prefix="The answer is", max_gen_toks=24),
            read_choices("pick", ["(a)", "(b)"], prefix="P", probe=True),
            prefill("fixed", "first"),
        ),
        system="S",
        gen_kwargs={"until": ["\n"], "temperature": 0.0},
    )
    want = dataclasses.asdict(script)
    for t in want["turns"]:
        t["choices"] = list(t["choices"])
    got = script.to_dict()
    assert got == want and list(got) == list(want)
    assert [list(t) for t in got["turns"]] == [list(t) for t in want["turns"]]
    got["gen_kwargs"]["until"].append("x")  # a copy: the script is not changed through it
    assert script.gen_kwargs["until"] == ["\n"]
    assert Script.from_dict(got) == Script(
        turns=script.turns, system="S", gen_kwargs={"until": ["\n", "x"], "temperature": 0.0}
    )
