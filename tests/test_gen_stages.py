"""Generation on padded batches (:mod:`harness_ext.dialogue.stages`): per-row stops, stages, prompt
lookup for loops, length groups; the same texts as one call, fewer rows held to the cap."""

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

    def __init__(self, replies: dict[str, str] = REPLIES) -> None:
        self.replies = replies
        self.calls: list[list[tuple[str, dict[str, Any]]]] = []

    def tok_encode(self, text: str) -> list[str]:
        return text.split()

    def __call__(self, args: list[tuple[str, dict[str, Any]]]) -> list[str]:
        self.calls.append(args)
        out = []
        for ctx, kw in args:
            prompt = next(p for p in self.replies if ctx.startswith(p))
            done = ctx[len(prompt) :].split()
            rest = self.replies[prompt].split()[len(done) :][: kw["max_gen_toks"]]
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
    assert stages.stage_bounds(lm) == ()  # not lm-eval's hf backend
    assert stages.generate(lm, args, lm) == one_call(args) and len(lm.calls) == 1
    monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", "30")
    lm = WordLM()
    stages.generate(lm, args, lm)
    assert len(lm.calls) == 1 and lm.calls[0] == args
    monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", "0")
    assert stages.stage_bounds(lm) == ()
    monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", "many")
    with pytest.raises(ValueError, match="HARNESS_EXT_GEN_STAGE: expected a number of tokens, found 'many'"):
        stages.stage_bounds(lm)


def test_hf_backend_gets_the_default_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_EXT_GEN_STAGE", raising=False)
    hf = pytest.importorskip("lm_eval.models.huggingface")
    lm = hf.HFLM.__new__(hf.HFLM)  # no model loaded: only its type matters
    assert stages.stage_bounds(lm) == stages.STAGES


class CharTokenizer:
    """One token per character (its code point); decodes back to the characters."""

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return [ord(c) for c in text]

    def batch_decode(self, rows: Any) -> list[str]:
        return ["".join(chr(int(t)) for t in row) for row in rows.tolist()]


def _ids(*rows: str) -> Any:
    """A batch of rows, right-filled with "." to one length."""
    torch = pytest.importorskip("torch")
    n = max(map(len, rows))
    return torch.tensor([[ord(c) for c in r.ljust(n, ".")] for r in rows])


def test_row_stops_finish_each_row_on_its_own_stop_string() -> None:
    """lm-eval's criterion answers for the whole batch (every row must write the same stop string);
    this one flags each row once it has written any stop string, and keeps the flag."""
    crit = stages.RowStops(CharTokenizer(), ["\nH:", "<e>"], start=2, batch_size=3)
    assert crit.window == 3 + 2  # the longest stop string's tokens plus lm-eval's 2 of slack
    # the prompt (first 2 characters) is never looked at: "P\n" + "H:" does not count
    assert crit(_ids("P\nH:xx", "Pqabcd", "Pqab<e"), None).tolist() == [False, False, False]
    assert crit(_ids("P\nH:xx\nH:", "Pqabcdefg", "Pqabc<e>"), None).tolist() == [True, False, True]
    # the flag stays once the stop string has left the window (the row is padded after it)
    assert crit(_ids("P\nH:xx\nH:", "Pqabcdefg.\nH", "Pqabc<e>"), None).tolist() == [True, False, True]
    assert crit(_ids("P\nH:xx\nH:", "Pqabcdefg.\nH.:", "Pqabc<e>"), None).tolist() == [True, False, True]
    assert crit(_ids("P\nH:xx\nH:", "Pqabcdefg.\nH.:\nH:", "Pqabc<e>"), None).tolist() == [True] * 3


def test_row_stops_are_swapped_in_only_for_the_hf_backend_and_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hf = pytest.importorskip("lm_eval.models.huggingface")
    own = hf.stop_sequences_criteria
    lm = hf.HFLM.__new__(hf.HFLM)  # no model loaded: only its type matters
    monkeypatch.delenv("HARNESS_EXT_ROW_STOPS", raising=False)
    with stages.row_stops(lm):
        crit = hf.stop_sequences_criteria(CharTokenizer(), ["a", "bb"], 1, 2)
        assert isinstance(crit[0], stages.RowStops)
    assert hf.stop_sequences_criteria is own
    with stages.row_stops(WordLM()):  # not lm-eval's hf backend: untouched
        assert hf.stop_sequences_criteria is own
    monkeypatch.setenv("HARNESS_EXT_ROW_STOPS", "0")
    with stages.row_stops(lm):
        assert hf.stop_sequences_criteria is own
    monkeypatch.setenv("HARNESS_EXT_ROW_STOPS", "1")
    with pytest.raises(RuntimeError), stages.row_stops(lm):
        raise RuntimeError("a failed call")
    assert hf.stop_sequences_criteria is own


def test_cycle_period_finds_a_repeated_block_at_the_end() -> None:
    sorry = [7, 8, 9, 10, 11, 12]  # "I'm sorry for any confusion." as 6 tokens
    assert stages.cycle_period([1, 2, 3] + sorry * 6) == 6  # 36 tokens of one block repeated
    assert stages.cycle_period([1, 2, 3] + sorry * 5) is None  # 30 tokens: under LOOP_MIN_TOKENS
    assert stages.cycle_period(sorry * 5, min_tokens=24) == 6
    assert stages.cycle_period([5] * 40) == 1  # one token again and again
    assert stages.cycle_period(sorry * 3, min_tokens=0) is None  # 3 repeats: under LOOP_REPEATS
    assert stages.cycle_period(list(range(60))) is None
    # a block repeated with one token changed in the tail is not a loop (yet)
    assert stages.cycle_period(sorry * 6 + [7, 8, 99, 10]) is None


LOOPING = {
    "Q1:": " ".join(f"w{i}" for i in range(30)),  # long, not a loop
    "Q2:": "short reply",
    "Q3:": "so " + "sorry for that . " * 12,  # a loop from its second word
}


def test_stages_to_the_cap_with_looping_replies_continued_alone_by_prompt_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HARNESS_EXT_GEN_STAGE", raising=False)
    monkeypatch.setattr(stages, "_is_hf", lambda lm: True)  # the hf backend's stages and lookup
    monkeypatch.setattr(stages, "STAGES", (4, 20))
    monkeypatch.setattr(stages, "STAGE_SLACK", 0)
    monkeypatch.setattr(stages, "LOOP_MIN_TOKENS", 8)
    args = [(p, {"max_gen_toks": 40}) for p in LOOPING]
    lm = WordLM(LOOPING)
    staged = stages.generate(lm, args, lm)
    assert staged == WordLM(LOOPING)(args)  # the texts of one call per round
    assert [[k["max_gen_toks"] for _, k in c] for c in lm.calls] == [
        [4, 4, 4],  # stage 1: every reply
        [16, 16],  # Q1 and Q3 used it all; Q3's block is not 4 times in 4 words yet: batched to 20
        [20],  # Q1, to its cap
        [20],  # Q3 now loops ("sorry for that ." 4 times and more): alone, to its cap, by lookup
    ]
    assert "prompt_lookup_num_tokens" not in lm.calls[2][0][1]
    assert lm.calls[3][0][1]["prompt_lookup_num_tokens"] == stages.LOOKUP_TOKENS
    assert lm.calls[3][0][1]["max_matching_ngram_size"] == stages.LOOKUP_NGRAM
    assert lm.calls[3][0][0].startswith("Q3:")


def test_length_groups_keep_rows_of_similar_length_together() -> None:
    """No row is padded to more than twice its length (plus the slack): a looping transcript's long
    prompt goes in a group of its own."""
    assert stages.length_groups([300, 1400, 280, 1350, 320], slack=64) == [[1, 3], [4, 0, 2]]
    assert stages.length_groups([130, 250, 126], slack=64) == [[1, 0, 2]]  # 126 >= 250 / 2
    assert stages.length_groups([100, 300, 120], slack=64) == [[1], [2, 0]]
    assert stages.length_groups([100, 300, 120], slack=256) == [[1, 2, 0]]  # within the slack
    assert stages.length_groups([]) == []


def test_grouped_calls_put_results_back_in_request_order(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["a " * 5, "b " * 400, "c " * 6, "d " * 390]
    lm = WordLM()
    calls: list[list[int]] = []

    def call(idx: list[int]) -> list[str]:
        calls.append(idx)
        return [texts[i][0] for i in idx]

    assert stages.grouped(lm, texts, call) == ["a", "b", "c", "d"] and calls == [[0, 1, 2, 3]]  # not hf
    monkeypatch.setattr(stages, "_is_hf", lambda lm: True)
    monkeypatch.setattr(stages, "GROUP_SLACK_TOKENS", 16)
    calls.clear()
    assert stages.grouped(lm, texts, call) == ["a", "b", "c", "d"] and calls == [[0, 2], [1, 3]]
    monkeypatch.setenv("HARNESS_EXT_LENGTH_GROUPS", "0")
    calls.clear()
    assert stages.grouped(lm, texts, call) == ["a", "b", "c", "d"] and calls == [[0, 1, 2, 3]]


def test_a_sampled_looping_reply_is_not_continued_by_prompt_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_EXT_GEN_STAGE", raising=False)
    monkeypatch.setattr(stages, "_is_hf", lambda lm: True)
    monkeypatch.setattr(stages, "STAGES", (20,))
    monkeypatch.setattr(stages, "STAGE_SLACK", 0)
    monkeypatch.setattr(stages, "LOOP_MIN_TOKENS", 8)
    lm = WordLM(LOOPING)
    stages.generate(lm, [("Q3:", {"max_gen_toks": 40, "do_sample": True})], lm)
    assert [[k["max_gen_toks"] for _, k in c] for c in lm.calls] == [[20], [20]]
    assert "prompt_lookup_num_tokens" not in lm.calls[1][0][1]


def test_when_most_replies_run_long_they_go_to_their_caps_in_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reasoning: 4 of 5 replies use the first stage, so they skip the intermediate stage (which
    would cost each a new prompt pass) and get the rest of their caps at once."""
    monkeypatch.delenv("HARNESS_EXT_GEN_STAGE", raising=False)
    monkeypatch.setattr(stages, "_is_hf", lambda lm: True)
    monkeypatch.setattr(stages, "STAGES", (4, 20))
    monkeypatch.setattr(stages, "STAGE_SLACK", 0)
    replies = {f"R{k}:": " ".join(f"r{k}.{i}" for i in range(30)) for k in range(4)} | {"S:": "short"}
    args = [(p, {"max_gen_toks": 40}) for p in replies]
    lm = WordLM(replies)
    assert stages.generate(lm, args, lm) == WordLM(replies)(args)
    assert [[k["max_gen_toks"] for _, k in c] for c in lm.calls] == [[4] * 5, [36] * 4]


def test_reasoning_turns_skip_every_stage_but_the_last(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chain of thought starts at the last stage (no first pass of a few tokens it would
    outrun), in a call of its own; the other rows of the round are staged as before."""
    monkeypatch.delenv("HARNESS_EXT_GEN_STAGE", raising=False)
    monkeypatch.setattr(stages, "_is_hf", lambda lm: True)
    monkeypatch.setattr(stages, "STAGES", (4, 20))
    monkeypatch.setattr(stages, "STAGE_SLACK", 0)
    replies = {"R:": " ".join(f"r{i}" for i in range(30)), "S:": " ".join(f"s{i}" for i in range(30))}
    args = [("S:", {"max_gen_toks": 40}), ("R:", {"max_gen_toks": 40})]
    lm = WordLM(replies)
    assert stages.generate(lm, args, lm, reasoning=[False, True]) == WordLM(replies)(args)
    assert [[(p, k["max_gen_toks"]) for p, k in c] for c in lm.calls] == [
        [("S:", 4)],  # the plain row: stages 4, 20, then its cap
        [("S:" + " ".join(f"s{i}" for i in range(4)), 16)],
        [("S:" + " ".join(f"s{i}" for i in range(20)), 20)],
        [("R:", 20)],  # the reasoning row: the last stage first, then its cap
        [("R:" + " ".join(f"r{i}" for i in range(20)), 20)],
    ]
    with pytest.raises(ValueError, match="expected 2 flags, found 1"):
        stages.generate(lm, args, lm, reasoning=[True])


def test_reasoning_turns_are_flagged_by_the_scripts_that_reason() -> None:
    """The families mark their chains of thought, and only those, as reasoning turns."""
    from harness_ext.data import bbq, winogender
    from harness_ext.dialogue.script import Script
    from harness_ext.families.bbq import BBQParams
    from harness_ext.families.bbq import conversation as bbq_conv
    from harness_ext.families.sycophancy import SycophancyParams
    from harness_ext.families.sycophancy.conversation import Shape
    from harness_ext.families.sycophancy.conversation import build_script as syc_script
    from harness_ext.families.winogender import WinogenderParams
    from harness_ext.families.winogender import conversation as wino_conv

    def flagged(script: Script) -> list[str]:
        return [t.name for t in script.turns if t.reasoning]

    b, w = bbq.load_docs()[0], winogender.load_docs()[0]
    assert flagged(bbq_conv.build_script(b, BBQParams(), bbq_conv.Condition(cot=True))) == ["reasoning"]
    assert flagged(bbq_conv.build_script(b, BBQParams(), bbq_conv.Condition())) == []
    assert flagged(wino_conv.build_script(w, WinogenderParams(), wino_conv.Condition(cot=True))) == [
        "reasoning"
    ]
    cot = {"id": "x", "subject": "mmlu_mc_cot", "question": "Q?", "choices": ["a", "b"], "answer_index": 0,
           "answer": "a", "aliases": [], "prompt": "Q?\n(A) a\n(B) b", "prefix": ""}  # fmt: skip
    assert flagged(syc_script(cot, SycophancyParams(), Shape("mc"))) == ["first_reasoning"]
    assert flagged(syc_script(dict(cot, subject="aqua_mc"), SycophancyParams(), Shape("mc"))) == []
    # scripts recorded before the flag existed read as not reasoning
    assert Script.from_dict({"turns": [{"kind": "generate", "name": "x"}]}).turns[0].reasoning is False


def test_reasoning_flags_keep_one_call_where_there_are_no_stages(
    stage10: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without stages (other backends) or with a single one, flagged rows share the round's call."""
    args = [(p, {"max_gen_toks": 25, "until": ["STOP"]}) for p in REPLIES]
    for env in ("10", "0"):
        monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", env)
        lm = WordLM()
        assert stages.generate(lm, args, lm, reasoning=[True, False, True]) == one_call(args)
        assert len(lm.calls[0]) == 3  # the first call has every row
