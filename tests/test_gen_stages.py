"""Two-stage generation (:mod:`harness_ext.dialogue.stages`): same texts as one call, fewer rows
held to the cap."""

from __future__ import annotations

from typing import Any

import pytest

from harness_ext.dialogue import stages

REPLIES = {
    "P1:": " ".join(f"w{i}" for i in range(30)),  # runs past the stage
    "P2:": "short reply",
    "P3:": " ".join(f"x{i}" for i in range(12)) + " STOP " + "after the stop",
}


class WordLM:
    """Greedy stand-in: each prompt has one reply, one token per word; a context that is a prompt
    plus the start of its reply continues it. Records every call's requests."""

    def __init__(self) -> None:
        self.calls: list[list[tuple[str, dict[str, Any]]]] = []

    def tok_encode(self, text: str) -> list[str]:
        return text.split()

    def __call__(self, args: list[tuple[str, dict[str, Any]]]) -> list[str]:
        self.calls.append(args)
        out = []
        for ctx, kw in args:
            prompt = next(p for p in REPLIES if ctx.startswith(p))
            done = ctx[len(prompt) :].split()
            rest = REPLIES[prompt].split()[len(done) :][: kw["max_gen_toks"]]
            text = (" " if done else "") + " ".join(rest)
            for stop in kw.get("until", []):
                text = text.split(stop)[0]
            out.append(text)
        return out


def one_call(args: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return WordLM()(args)


@pytest.fixture
def stage10(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", "10")
    monkeypatch.setattr(stages, "STAGE_SLACK", 0)


def test_same_texts_as_one_call_and_only_long_replies_continue(stage10: None) -> None:
    args = [(p, {"max_gen_toks": 25, "until": ["STOP"]}) for p in REPLIES]
    lm = WordLM()
    staged = stages.generate(lm, args, lm)
    assert staged == one_call(args)
    assert staged[0] == " ".join(f"w{i}" for i in range(25))  # the cap still holds
    first, rest = lm.calls
    assert [k["max_gen_toks"] for _, k in first] == [10, 10, 10]
    # P1 and P3 used the whole stage; P2 ended within it. Each continues with the rest of its cap.
    assert [(c, k["max_gen_toks"]) for c, k in rest] == [
        ("P1:" + " ".join(f"w{i}" for i in range(10)), 15),
        ("P3:" + " ".join(f"x{i}" for i in range(10)), 15),
    ]
    assert staged[2] == " ".join(f"x{i}" for i in range(12)) + " "


def test_stop_string_across_the_join_still_ends_the_reply(stage10: None) -> None:
    """A stop sequence split by the stage boundary is cut from the joined text."""
    args = [("P3:", {"max_gen_toks": 25, "until": ["x11 STOP"]})]
    lm = WordLM()
    assert stages.generate(lm, args, lm) == [" ".join(f"x{i}" for i in range(11)) + " "]
    assert len(lm.calls) == 2


def test_caps_within_the_stage_and_backends_without_stages_make_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = [(p, {"max_gen_toks": 25}) for p in REPLIES]
    lm = WordLM()
    monkeypatch.delenv("HARNESS_EXT_GEN_STAGE", raising=False)
    assert stages.stage_tokens(lm) is None  # not lm-eval's hf backend
    assert stages.generate(lm, args, lm) == one_call(args) and len(lm.calls) == 1
    monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", "30")
    lm = WordLM()
    stages.generate(lm, args, lm)
    assert len(lm.calls) == 1 and lm.calls[0] == args
    monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", "0")
    assert stages.stage_tokens(lm) is None
    monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", "many")
    with pytest.raises(ValueError, match="HARNESS_EXT_GEN_STAGE: expected a number of tokens, found 'many'"):
        stages.stage_tokens(lm)


def test_hf_backend_gets_the_default_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_EXT_GEN_STAGE", raising=False)
    hf = pytest.importorskip("lm_eval.models.huggingface")
    lm = hf.HFLM.__new__(hf.HFLM)  # no model loaded: only its type matters
    assert stages.stage_tokens(lm) == stages.STAGE_TOKENS
