"""What a run hashes into ``provenance``: every template the task rendered, and the data files
its scorer read (BBQ's vocabulary of "unknown" phrasings), not a list kept by hand."""

from __future__ import annotations

import hashlib
from typing import Any

import lm_eval
import pytest
from lm_eval.tasks import TaskManager

from harness_ext.data import bbq
from harness_ext.families.bbq.answers import LETTERS
from harness_ext.families.bbq.task import Question
from harness_ext.prompts import Used, recording, render, template_hash
from tests.scripted import ScriptedLM


def _run(task: Any, limit: int = 4) -> dict[str, Any]:
    out = lm_eval.simple_evaluate(
        model=ScriptedLM(lambda prompt, kwargs: f" ({LETTERS[0]})"),
        tasks=[task],
        task_manager=TaskManager(include_defaults=False),
        limit=limit,
        apply_chat_template=True,
        bootstrap_iters=0,
    )
    assert out is not None
    return dict(next(iter(out["configs"].values()))["metadata"]["provenance"])


def test_rendered_templates_are_hashed_even_when_undeclared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Question, "TEMPLATES", ())  # a family that forgot to declare its templates
    prov = _run("bbq_selfcorrect_q")
    # Question renders no instruction and no review turn; its scorer renders the review prefix
    rendered = {"bbq/question.j2", "bbq/answer_prefix.j2", "bbq/review_prefix.j2", "transcript.j2"}
    assert set(prov["prompt_sha256"]) == rendered
    assert prov["prompt_sha256"] == template_hash(rendered)


def test_scorer_vocabulary_is_hashed() -> None:
    prov = _run("bbq_selfcorrect_q")
    want = hashlib.sha256(bbq.VOCABULARY.read_bytes()).hexdigest()[:16]
    assert prov["resource_sha256"] == {"bbq/vocabulary.yaml": want}
    # the declared templates stay hashed (results before this change remain comparable)
    assert set(Question.TEMPLATES) <= set(prov["prompt_sha256"])


def test_recording_nests_and_notes_only_inside() -> None:
    render("bbq/review.j2")
    with recording() as outer:
        render("bbq/review.j2")
        inner = Used()
        with recording(inner):
            render("bbq/cot_prefix.j2")
            bbq.unknown_phrases()
    assert outer.templates == {"bbq/review.j2", "bbq/cot_prefix.j2"}
    assert inner.templates == {"bbq/cot_prefix.j2"}
    assert set(inner.resources) == set(outer.resources) == {"bbq/vocabulary.yaml"}
