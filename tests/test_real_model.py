"""A small real run with the embedded models: real tokenizers, real chat template, real generation."""

import json
import math

import lm_eval
import pytest

import harness_ext
from harness_ext.dialogue.runner import decode_transcript
from harness_ext.embedded import hf_kwargs

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


def counting(lm, arg=0):
    """Records, per generate_until call, each request's argument ``arg`` (0: the prompt)."""
    calls = []
    original = lm.generate_until

    def generate_until(requests, *a, **k):
        calls.append([r.args[arg] for r in requests])
        return original(requests, *a, **k)

    lm.generate_until = generate_until
    return calls


def hf(name):
    from lm_eval.models.huggingface import HFLM

    return HFLM(**hf_kwargs(name), batch_size=8, device="cpu")  # the converted folder: loads fast


def evaluate(lm, tasks, **kw):
    tm = harness_ext.task_manager(include_defaults=False, metadata={"source": "bundled"})
    return lm_eval.simple_evaluate(
        model=lm, tasks=tasks, task_manager=tm, log_samples=True, bootstrap_iters=100, **kw
    )


def test_smollm2_chat_model_runs_the_challenge_dialogue():
    lm = hf("smollm2")
    calls = counting(lm)
    res = evaluate(
        lm, ["sycophancy_challenge_mc", "sycophancy_challenge_prefilled"], limit=3, apply_chat_template=True
    )
    # round 1: 3 first answers + 3 prefilled challenge replies; round 2: 6; round 3: 3 final answers
    assert [len(c) for c in calls] == [6, 6, 3]
    assert all("<|im_start|>assistant" in p for c in calls for p in c)
    assert all(
        p.endswith("<|im_start|>assistant\nThe answer is (") for p in calls[0][:3] if "Are you sure" not in p
    )
    for task in ("sycophancy_challenge_mc", "sycophancy_challenge_prefilled"):
        r = res["results"][task]
        for name in (
            "accuracy_before",
            "accuracy_after",
            "admission_rate",
            "unparsed_rate",
            "readout_p_gold_before",
        ):
            assert 0.0 <= r[f"{name},none"] <= 1.0
        samples = res["samples"][task]
        assert len(samples) == 3
        for s in samples:
            t = decode_transcript(s["resps"][0][0])
            assert [m["role"] for m in t if m["role"] != "probe"] == ["user", "assistant"] * 3
            assert [m["name"] for m in t if m["role"] == "probe"] == ["readout_before", "readout_after"]
            assert all(m["content"].strip() for m in t)
            json.dumps(s, default=str)  # as lm-eval's sample writer does
    assert res["results"]["sycophancy_challenge_prefilled"]["accuracy_before,none"] == 1.0


def test_gemma3_base_model_gets_a_plain_transcript(monkeypatch):
    monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", "0")  # one call per round (no stages)
    lm = hf("gemma3")
    calls = counting(lm)
    res = evaluate(lm, ["sycophancy_challenge_free"], limit=2, apply_chat_template=False)
    assert [len(c) for c in calls] == [2, 2, 2]
    assert all(p.startswith("Human: ") and p.endswith("Assistant:") for c in calls for p in c)
    t = decode_transcript(res["samples"]["sycophancy_challenge_free"][0]["resps"][0][0])
    # the stop string keeps the base model from writing the user's next turn
    assert not any("Human:" in m["content"] for m in t if m["role"] == "assistant")
    assert not math.isnan(res["results"]["sycophancy_challenge_free"]["accuracy_before,none"])


def test_two_stage_generation_gives_the_same_transcripts(monkeypatch):
    """Generation in stages (:mod:`harness_ext.dialogue.stages`) on the hf backend, forced to an
    8-token stage: the continued replies are the texts of one call per round, on the real model."""
    lm = hf("smollm2")
    sent = counting(lm, arg=1)
    runs = {}
    for stage in ("0", "8"):
        monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", stage)
        sent.clear()
        res = evaluate(
            lm,
            ["sycophancy_challenge_prefilled"],
            limit=4,
            apply_chat_template=True,
            gen_kwargs="max_gen_toks=40",
        )
        runs[stage] = [s["resps"] for s in res["samples"]["sycophancy_challenge_prefilled"]]
        caps = [sorted({k["max_gen_toks"] for k in c}) for c in sent]
        if stage == "0":
            assert caps == [[40], [40]]  # one call per round
        else:
            assert caps[0] == [8] and len(caps) > 2  # first stage, then the replies that used it all
    assert runs["8"] == runs["0"]


def test_rows_stop_on_their_own_stop_strings_with_the_same_transcripts(monkeypatch):
    """Plain transcripts end a reply on "\\nHuman:" or on the end-of-turn token; lm-eval's criterion
    stops a batch on a stop string only when every row wrote it, so a mixed batch ran to its cap.
    With per-row stops (:func:`harness_ext.dialogue.stages.row_stops`) the batches compute fewer
    positions and every transcript is the same."""
    from transformers.generation.utils import GenerationMixin

    lm = hf("smollm2")
    positions = [0]
    real = GenerationMixin.generate

    def generate(self, *a, **k):
        out = real(self, *a, **k)
        positions[0] += out.shape[0] * (out.shape[1] - k["input_ids"].shape[1])
        return out

    monkeypatch.setattr(GenerationMixin, "generate", generate)
    runs, cost = {}, {}
    for flag in ("0", "1"):
        monkeypatch.setenv("HARNESS_EXT_ROW_STOPS", flag)
        positions[0] = 0
        task = "sycophancy_challenge_mc"
        res = evaluate(lm, [task], limit=16, apply_chat_template=False, gen_kwargs="max_gen_toks=32")
        runs[flag], cost[flag] = [s["resps"] for s in res["samples"][task]], positions[0]
    assert runs["1"] == runs["0"]
    assert cost["1"] < 0.75 * cost["0"]  # measured: 528 against 1,128 positions


def test_a_looping_reply_continued_by_prompt_lookup_is_the_text_of_one_call(monkeypatch):
    """SmolLM2 answers the challenge on bundled item bio-003 with "I'm sorry for any confusion."
    over and over (periodic from about 110 tokens). In stages (64, then 160 tokens) the reply is
    found looping at 160 and continued alone by prompt-lookup decoding; the transcript is the one
    of a single call per round."""
    from harness_ext.data.sycophancy import load_docs
    from harness_ext.dialogue import stages
    from harness_ext.dialogue.runner import Conversation, play_round
    from harness_ext.dialogue.script import Script
    from harness_ext.families.sycophancy import SycophancyParams
    from harness_ext.families.sycophancy.conversation import Shape, build_script

    lm = hf("smollm2")
    sent = counting(lm, arg=1)
    (doc,) = [d for d in load_docs("bundled") if d["id"] == "bio-003"]
    script = build_script(doc, SycophancyParams(), Shape("mc"))
    script = Script(turns=script.turns, gen_kwargs={"max_gen_toks": 288})
    monkeypatch.setattr(stages, "STAGES", (64, 160))
    transcripts = {}
    for stage in ("0", ""):  # one call per round; the default stages with lookup
        monkeypatch.setenv("HARNESS_EXT_GEN_STAGE", stage)
        sent.clear()
        conv = Conversation(script, chat=True)
        for _ in range(2):  # the first answer, then the challenge reply
            play_round(lm, [conv])
        transcripts[stage] = conv.transcript
        if stage == "":
            assert [[k["max_gen_toks"] for k in c] for c in sent] == [[64], [64], [96], [128]]
            assert sent[-1][0]["prompt_lookup_num_tokens"] == stages.LOOKUP_TOKENS
    reply = transcripts["0"][-1]["content"]
    assert reply.count("I'm sorry for any confusion.") > 8
    assert transcripts[""] == transcripts["0"]
