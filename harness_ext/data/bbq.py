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

Intersectional categories (``Race_x_SES``, ``Race_x_gender``) take their biased option from both
attributes of each person (:mod:`harness_ext.data.bbq_intersectional`).

Sources (``--metadata '{"bbq": {"source": ...}}'``, or the flat ``{"source": ...}`` when only BBQ
runs; :func:`harness_ext.data.resolve.resolve`):

- ``bundled`` (default): ``harness_ext/data/bundled/bbq_generated.jsonl``, written by
  ``python -m harness_ext.data.bbq_generate --seed 0 --out harness_ext/data/bundled/bbq_generated.jsonl``.
- ``hub``: BBQ's per-category JSONL files from the Hugging Face dataset ``hub_repo`` (default
  ``oskarvanderwal/bbq``, the mirror lm-eval uses; ``heegyu/bbq`` has the same files) at
  ``revision``; needs network access.
- local JSONL in the BBQ schema: a file, a folder (BBQ's ``data/`` with its eleven
  ``<Category>.jsonl``), a glob or a comma-separated list.

``categories`` (``"Age,Religion"`` or a list; case and spaces ignored) keeps only those; with a
folder of BBQ's per-category files only their files are read.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness_ext.data import bbq_intersectional as inter
from harness_ext.data.io import BUNDLED, DataError, jsonl_records, read_text, require
from harness_ext.data.resolve import Resolved, SourceError, cached, resolve
from harness_ext.params import family_params
from harness_ext.prompts import note_resource

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
#: The generator's templates and vocabulary (data, not prompts: never rendered to a model).
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "bbq"
VOCABULARY = TEMPLATE_DIR / "vocabulary.yaml"
#: ``--metadata`` keys of the family (``{"bbq": {...}}``).
PARAMS = ("source", "revision", "hub_repo", "categories", "review_rounds", "readout", "limit_seed")
_PREFIXED = re.compile(r"(M|F|lowSES|highSES)-(.+)")
_FEMALE, _MALE = {"woman", "women", "girl", "girls"}, {"man", "men", "boy", "boys"}


def vocabulary() -> dict[str, Any]:
    """``harness_ext/data/templates/bbq/vocabulary.yaml``: unknown phrasings and per-category
    words. The answer reader uses its phrasings, so a task that reads it records its hash
    (:func:`harness_ext.prompts.note_resource`)."""
    text, digest = _vocabulary()
    note_resource("bbq/vocabulary.yaml", digest)
    return text


@functools.lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, Any], str]:
    raw = VOCABULARY.read_bytes()
    return dict(yaml.safe_load(raw.decode("utf-8"))), hashlib.sha256(raw).hexdigest()[:16]


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
        tokens |= _entry_groups(str(entry))
    return tokens


@functools.lru_cache(maxsize=65536)
def _entry_groups(entry: str) -> frozenset[str]:
    """Group tokens of one ``answer_info`` string (BBQ repeats a few hundred of them)."""
    tokens: set[str] = set()
    for piece in entry.split("_"):
        m = _PREFIXED.fullmatch(piece)
        tokens.update(_canon(p) for p in (m.groups() if m else (piece,)) if p.strip())
        words = set(piece.lower().split())
        tokens |= {"f"} if words & _FEMALE else set()
        tokens |= {"m"} if words & _MALE else set()
    return frozenset(tokens)


def unknown_option(options: Sequence[str], infos: Sequence[Sequence[str]]) -> int | None:
    """Index of the "unknown" option: group ``unknown`` in ``answer_info``, else a known phrasing."""
    for i, info in enumerate(infos):
        if "unknown" in answer_groups(info):
            return i
    phrases = _unknown_canon()
    hits = [i for i, o in enumerate(options) if _canon(o.rstrip(".")) in phrases]
    return hits[0] if len(hits) == 1 else None


@functools.lru_cache(maxsize=1)
def _unknown_canon() -> frozenset[str]:
    return frozenset(_canon(p) for p in unknown_phrases())


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


def to_doc(rec: dict[str, Any], path: str | Path, line: int, alone: bool = True) -> dict[str, Any]:
    """One BBQ-schema record as a document (module docstring); errors name file and line.

    ``alone=False``: an intersectional item's ``biased_indices`` are left for the caller to set
    from its template's other items (:func:`_read_file`), not computed from the item alone.
    """
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
        "biased_indices": (
            _biased(category, options, infos, stereotyped, polarity, unknown)
            if alone or category not in inter.INTERSECTIONAL
            else []
        ),
        "stereotyped_groups": [str(g) for g in stereotyped],
        "template_id": str(template),
    }


def _persons(category: str, options: Sequence[str], infos: Sequence[Sequence[str]]) -> list[Any]:
    return [inter.person(category, info, text) for info, text in zip(infos, options, strict=True)]


def _biased(
    category: str,
    options: Sequence[str],
    infos: Sequence[Sequence[str]],
    stereotyped: Iterable[str],
    polarity: str,
    unknown: int,
) -> list[int]:
    """Biased options; an intersectional item on its own (its template's other items refine it
    in :func:`load_docs`)."""
    if category not in inter.INTERSECTIONAL:
        return biased_options(infos, stereotyped, polarity, unknown)
    item = _inter_item({"category": category, "question_polarity": polarity}, options, infos, stereotyped)
    inter.assign([item], warn=False)
    return list(item["doc"]["biased_indices"])


def _inter_item(
    doc: dict[str, Any], options: Sequence[str], infos: Any, stereotyped: Iterable[str]
) -> dict[str, Any]:
    return {
        "category": doc["category"],
        "question_index": doc.get("template_id", ""),
        "persons": _persons(doc["category"], options, infos),
        "races": {inter._canon(g) for g in stereotyped},
        "doc": doc,
    }


def parse_categories(categories: str | Sequence[str] | None) -> list[str] | None:
    """``"Age, Religion"`` or a list -> BBQ's spellings; a misspelt name lists the valid ones."""
    if categories is None or categories == "":
        return None
    names = [c.strip() for c in (categories.split(",") if isinstance(categories, str) else categories)]
    known = {category_slug(c): c for c in BBQ_CATEGORIES}
    out = []
    for name in (n for n in names if n):
        if category_slug(name) not in known:
            raise ValueError(
                f"metadata 'categories': unknown BBQ category {name!r}; valid: {', '.join(BBQ_CATEGORIES)}"
            )
        out.append(known[category_slug(name)])
    return out or None


def _hub(repo: str, revision: str, categories: Sequence[str]) -> Resolved:
    from huggingface_hub import hf_hub_download

    files = [
        Path(hf_hub_download(repo, f"data/{c}.jsonl", repo_type="dataset", revision=revision))
        for c in categories
    ]
    return Resolved(tuple(files), f"hub:{repo}@{revision}")


def _files_for(resolved: Resolved, wanted: Sequence[str] | None) -> list[Path]:
    """Skip a BBQ per-category file (``Age.jsonl``) of a category not wanted: it is never read."""
    if not wanted:
        return list(resolved.files)
    slugs = {category_slug(c) for c in BBQ_CATEGORIES}
    keep = {category_slug(c) for c in wanted}
    return [f for f in resolved.files if category_slug(f.stem) not in slugs or category_slug(f.stem) in keep]


def _read_file(path: Path, label: str, wanted: Sequence[str] | None) -> Iterator[dict[str, Any]]:
    """Documents of one file: read and hashed once; intersectional targets per template."""
    text, digest = read_text(path, "BBQ")
    base = label if label == "bundled" or label.startswith("hub:") else f"file:{path.name}"
    tag = f"{base}#sha256={digest[:16]}"
    items, docs = [], []
    for line, rec in jsonl_records(text.splitlines(), path):
        doc = to_doc(rec, path, line, alone=False) | {"source": tag}
        if wanted and doc["category"] not in wanted:
            continue
        if doc["category"] in inter.INTERSECTIONAL:
            infos = [(rec["answer_info"].get(f"ans{i}") or []) for i in range(3)]
            items.append(_inter_item(doc, doc["options"], infos, doc["stereotyped_groups"]))
        docs.append((line, doc))
    if items:
        inter.assign(items)
    for line, doc in docs:
        yield doc | {"line": line}


def load_docs(
    source: str = "bundled",
    revision: str = "main",
    hub_repo: str = HUB_REPO,
    categories: str | Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Documents from ``source`` (module docstring), optionally only some ``categories``."""
    wanted = parse_categories(categories)
    resolved = resolve(
        str(source),
        family="bbq",
        pattern="*.jsonl",
        bundled=BUNDLED_FILE,
        hub=lambda: _hub(hub_repo, revision, wanted or BBQ_CATEGORIES),
    )
    docs: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for path in _files_for(resolved, wanted):
        for doc in _read_file(path, resolved.label, wanted):
            line = doc.pop("line")
            if doc["id"] in seen:
                first = seen[doc["id"]]
                raise DataError(
                    path, line, f"duplicate item {doc['id']!r} (category + example_id; first at {first})"
                )
            seen[doc["id"]] = f"{path.name}:{line}"
            docs.append(doc)
    if not docs:
        raise SourceError(f"bbq source {source!r}: no items for categories {wanted}")
    return docs


def load_dataset(**metadata: Any) -> Any:
    """``custom_dataset`` for the task YAML: a ``DatasetDict`` with a ``test`` split.

    ``metadata`` is the task's (lm-eval passes ``--metadata`` here); the family's parameters are
    read by :func:`harness_ext.params.family_params`. Built once per process for the same files
    and parameters, and shared by every condition.
    """
    import datasets

    p = family_params("bbq", metadata, PARAMS)
    source, revision = str(p.get("source", "bundled")), str(p.get("revision", "main"))
    hub_repo, categories = str(p.get("hub_repo", HUB_REPO)), parse_categories(p.get("categories"))
    if source == "hub":
        return datasets.DatasetDict(
            {"test": datasets.Dataset.from_list(load_docs(source, revision, hub_repo, categories))}
        )
    files = list(resolve(source, family="bbq", pattern="*.jsonl", bundled=BUNDLED_FILE).files)

    def build() -> Any:
        docs = load_docs(source, revision, hub_repo, categories)
        return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})

    return cached("bbq", files, (source, tuple(categories or ())), build)
