"""BBQ items for ``bbq_selfcorrect``: bundled (generated), a local file, or BBQ from the hub.

Every source is read in the BBQ schema (nyu-mll ``data/<Category>.jsonl``, Parrish et al. 2022)::

    {"example_id", "question_index", "question_polarity", "context_condition", "category",
     "answer_info": {"ans0": [word, group], ...}, "additional_metadata": {"stereotyped_groups", ...},
     "context", "question", "ans0", "ans1", "ans2", "label"}  (+ optional "template_id")

and becomes one document schema::

    {"id", "example_id", "category", "question_polarity", "context_condition", "context",
     "question", "options", "label", "unknown_index", "biased_indices", "stereotyped_groups",
     "template_id", "source"}

``biased_indices`` (BBQ section 5; derived from ``answer_info`` and ``stereotyped_groups`` as
lm-eval's ``bbq/utils.py`` does): for a negative question the options whose group is a
stereotyped group, for a non-negative question the non-unknown options whose group is not. It
can be empty (some upstream items name no stereotyped group among their options).
``template_id`` is the bootstrap cluster: the generator's template, or BBQ's own template
(``category`` + ``question_index``) for upstream data.

Sources (``--metadata '{"source": ...}'``):

- ``bundled`` (default): ``harness_ext/data/bundled/bbq_generated.jsonl``, written by
  ``python -m harness_ext.data.bbq_generate --seed 0 --out harness_ext/data/bundled/bbq_generated.jsonl``.
- ``hub``: BBQ's per-category JSONL files from the Hugging Face dataset ``hub_repo`` (default
  ``oskarvanderwal/bbq``, the mirror lm-eval uses; ``heegyu/bbq`` has the same files) at
  ``revision``; needs network access.
- a path to a local JSONL file in the BBQ schema.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness_ext.data.io import BUNDLED, DataError, file_sha256, read_jsonl, require
from harness_ext.paths import prompts_path

log = logging.getLogger("harness_ext")

BUNDLED_FILE = BUNDLED / "bbq_generated.jsonl"
HUB_REPO = "oskarvanderwal/bbq"
#: BBQ's eleven categories, as its file names and ``category`` field spell them.
BBQ_CATEGORIES = (
    "Age",
    "Disability_status",
    "Gender_identity",
    "Nationality",
    "Physical_appearance",
    "Race_ethnicity",
    "Race_x_SES",
    "Race_x_gender",
    "Religion",
    "SES",
    "Sexual_orientation",
)
VOCABULARY = "bbq/templates/vocabulary.yaml"
_PREFIXED = re.compile(r"(M|F|lowSES|highSES)-(.+)")
_FEMALE, _MALE = {"woman", "women", "girl", "girls"}, {"man", "men", "boy", "boys"}


@functools.lru_cache(maxsize=1)
def vocabulary() -> dict[str, Any]:
    """``prompts/bbq/templates/vocabulary.yaml``: unknown phrasings and per-category words."""
    with (prompts_path() / VOCABULARY).open(encoding="utf-8") as f:
        return dict(yaml.safe_load(f))


def unknown_phrases() -> tuple[str, ...]:
    """The phrasings of the "cannot be determined" option (BBQ's and HELM's ten)."""
    return tuple(vocabulary()["unknown"])


def unknown_readings() -> tuple[str, ...]:
    """Phrasings a free-text answer may use for "unknown": the options' and a few more."""
    return (*unknown_phrases(), *vocabulary().get("unknown_also", ()))


def category_slug(category: str) -> str:
    """``Disability_status`` -> ``disability_status``: the suffix of per-category names."""
    return re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_")


def _canon(text: str) -> str:
    return re.sub(r"\s+", "", text.lower())


def answer_groups(info: Iterable[str]) -> set[str]:
    """Group tokens of one option's ``answer_info`` entry, normalised for matching.

    Like lm-eval's ``_process_groups_in_answers``: ``_`` separates groups, ``F-Black`` or
    ``lowSES-African`` are two groups, case and spaces are ignored (``lowSES`` = ``low SES``),
    and a woman/girl counts as ``F``, a man/boy as ``M``. Unlike it, gender is matched on whole
    words (lm-eval turns any "man" substring, e.g. in "German", into a gender tag).
    """
    tokens: set[str] = set()
    for entry in info:
        for piece in str(entry).split("_"):
            m = _PREFIXED.fullmatch(piece)
            tokens.update(_canon(p) for p in (m.groups() if m else (piece,)) if p.strip())
            words = set(piece.lower().split())
            tokens |= {"f"} if words & _FEMALE else set()
            tokens |= {"m"} if words & _MALE else set()
    return tokens


def unknown_option(options: Sequence[str], infos: Sequence[Sequence[str]]) -> int | None:
    """Index of the "unknown" option: group ``unknown`` in ``answer_info``, else a known phrasing."""
    for i, info in enumerate(infos):
        if "unknown" in answer_groups(info):
            return i
    phrases = {_canon(p) for p in unknown_phrases()}
    hits = [i for i, o in enumerate(options) if _canon(o.rstrip(".")) in phrases]
    return hits[0] if len(hits) == 1 else None


def biased_options(
    infos: Sequence[Sequence[str]], stereotyped: Iterable[str], polarity: str, unknown: int
) -> list[int]:
    """Options that are the biased answer (BBQ section 5; lm-eval ``bbq/utils.py`` process_docs).

    Negative question: the options of a stereotyped group. Non-negative question: the
    non-unknown options of no stereotyped group. An option without group information is never
    biased (lm-eval reuses the previous option's groups there).
    """
    targets = {_canon(g) for g in stereotyped}
    out = []
    for i, info in enumerate(infos):
        groups = answer_groups(info)
        if i == unknown or not groups:
            continue
        in_target = bool(groups & targets)
        if in_target == (polarity == "neg"):
            out.append(i)
    return out


def to_doc(rec: dict[str, Any], path: str | Path, line: int) -> dict[str, Any]:
    """One BBQ-schema record as a document (module docstring); errors name file and line."""
    category = require(rec, "category", str, path, line)
    polarity = require(rec, "question_polarity", str, path, line)
    condition = require(rec, "context_condition", str, path, line)
    if polarity not in ("neg", "nonneg"):
        raise DataError(
            path, line, f"field 'question_polarity': expected 'neg' or 'nonneg', found {polarity!r}"
        )
    if condition not in ("ambig", "disambig"):
        raise DataError(
            path, line, f"field 'context_condition': expected 'ambig' or 'disambig', found {condition!r}"
        )
    options = [require(rec, f"ans{i}", str, path, line) for i in range(3)]
    info = require(rec, "answer_info", dict, path, line)
    infos = [info.get(f"ans{i}") or [] for i in range(3)]
    meta = require(rec, "additional_metadata", dict, path, line)
    stereotyped = meta.get("stereotyped_groups") or []
    if not isinstance(stereotyped, list):
        raise DataError(
            path,
            line,
            f"field 'additional_metadata.stereotyped_groups': expected list, found {stereotyped!r:.60}",
        )
    label = require(rec, "label", int, path, line)
    if not 0 <= label <= 2:
        raise DataError(path, line, f"field 'label': expected 0, 1 or 2, found {label}")
    unknown = unknown_option(options, infos)
    if unknown is None:
        raise DataError(path, line, f"no 'unknown' option among {options} (answer_info {infos})")
    if (condition == "ambig") != (label == unknown):
        raise DataError(
            path,
            line,
            f"field 'label': {label} in a {condition} context, but the unknown option is {unknown}",
        )
    example_id = require(rec, "example_id", int, path, line)
    template = rec.get("template_id") or f"{category}-{rec.get('question_index', '?')}"
    return {
        "id": f"{category}-{example_id}",
        "example_id": example_id,
        "category": category,
        "question_polarity": polarity,
        "context_condition": condition,
        "context": require(rec, "context", str, path, line),
        "question": require(rec, "question", str, path, line),
        "options": options,
        "label": label,
        "unknown_index": unknown,
        "biased_indices": biased_options(infos, stereotyped, polarity, unknown),
        "stereotyped_groups": [str(g) for g in stereotyped],
        "template_id": str(template),
    }


def _hub_files(repo: str, revision: str, categories: Sequence[str]) -> list[Path]:
    from huggingface_hub import hf_hub_download

    return [
        Path(hf_hub_download(repo, f"data/{c}.jsonl", repo_type="dataset", revision=revision))
        for c in categories
    ]


def load_docs(
    source: str = "bundled",
    revision: str = "main",
    hub_repo: str = HUB_REPO,
    categories: str | Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Documents from ``source`` (module docstring), optionally only some ``categories``."""
    wanted = [c for c in categories.split(",") if c] if isinstance(categories, str) else categories
    if source == "hub":
        files = _hub_files(hub_repo, revision, wanted or BBQ_CATEGORIES)
        label = f"hub:{hub_repo}@{revision}"
    else:
        files = [BUNDLED_FILE if source == "bundled" else Path(source)]
        label = "bundled" if source == "bundled" else f"file:{Path(source).name}"
    docs, seen = [], set()
    for path in files:
        tag = f"{label}#sha256={file_sha256(path)[:16]}"
        for line, rec in read_jsonl(path):
            doc = to_doc(rec, path, line)
            if wanted and doc["category"] not in wanted:
                continue
            if doc["id"] in seen:
                raise DataError(path, line, f"duplicate item {doc['id']!r} (category + example_id)")
            seen.add(doc["id"])
            docs.append(doc | {"source": tag})
    if not docs:
        raise ValueError(f"no BBQ items in source {source!r} for categories {wanted}")
    return docs


def load_dataset(
    source: str = "bundled",
    revision: str = "main",
    hub_repo: str = HUB_REPO,
    categories: str | Sequence[str] | None = None,
    **_: Any,
) -> Any:
    """``custom_dataset`` for the task YAML: a ``DatasetDict`` with a ``test`` split."""
    import datasets

    docs = load_docs(source, revision=revision, hub_repo=hub_repo, categories=categories)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})
