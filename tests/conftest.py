import pytest

from harness_ext.data.sycophancy import BUNDLED_FILE


@pytest.fixture
def mini_source(tmp_path):
    """A 12-question file in the bundled schema (the first 12 bundled questions)."""
    path = tmp_path / "mini.jsonl"
    lines = BUNDLED_FILE.read_text(encoding="utf-8").splitlines()[:12]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)
