"""The project's own BBQ-style items, generated from ``harness_ext/data/templates/bbq/*.yaml``.

Follows the construction of BBQ (Parrish et al. 2022, section 3; nyu-mll/BBQ
``generate_from_template_all_categories.py``) with templates and vocabulary written for this
project. A template has an ambiguous context, a disambiguating context in which NAME1 is the
answer to the negative question and NAME2 the answer to the non-negative one, and both questions.
Each *filled* template (one word of the target group, one of the other group, in one order)
yields four items: negative / non-negative question x ambiguous / disambiguated context.

- Version ``a`` fills NAME1 with the target (stereotyped) group: the disambiguated answers align
  with the bias. Version ``b`` flips the names: they conflict with it.
- The three options (NAME1, NAME2, an "unknown" phrasing drawn per filled template) are shuffled
  per item with the seed; ``label`` is the unknown option in ambiguous contexts, NAME1 for the
  negative and NAME2 for the non-negative question in disambiguated ones.
- Records are in the BBQ schema plus ``template_id`` (the bootstrap cluster).
  ``stereotyped_groups`` is the template's ``target`` groups, or its ``stereotyped_groups`` where
  BBQ spells them differently from ``answer_info`` (``low SES`` vs ``lowSES``).

Regenerate the bundled file (deterministic for a seed)::

    python -m harness_ext.data.bbq_generate --seed 0 --out harness_ext/data/bundled/bbq_generated.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml
from jinja2.sandbox import SandboxedEnvironment

from harness_ext.data.bbq import TEMPLATE_DIR, unknown_phrases, vocabulary
from harness_ext.data.io import interleave

PAIRS_PER_TEMPLATE = 5
SOURCE = "harness-ext bbq_generate"
_TEXT_FIELDS = ("ambiguous", "disambiguating", "question_negative", "question_non_negative")
_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


def with_article(word: str) -> str:
    """``a``/``an`` + word, by the first sound for the words this vocabulary uses."""
    low = word.lower()
    vowel = low[:1] in "aeio" or (low[:1] == "u" and not low.startswith(("uni", "use", "usu")))
    if low.startswith(("eu", "one")):
        vowel = False
    return f"{'an' if vowel else 'a'} {word}"


def load_templates(folder: Path | None = None) -> list[dict[str, Any]]:
    """All templates, each with its ``category`` and ``question_index`` (1-based in its file)."""
    folder = folder or TEMPLATE_DIR
    out = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "vocabulary.yaml":
            continue
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for n, tpl in enumerate(spec["templates"], 1):
            missing = [k for k in ("id", "target", "other", *_TEXT_FIELDS) if k not in tpl]
            if missing:
                raise ValueError(f"{path}: template {n} ({tpl.get('id', '?')}): missing {missing}")
            out.append(
                dict(tpl) | {"category": spec["category"], "question_index": str(n), "file": path.name}
            )
    ids = [t["id"] for t in out]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{folder}: duplicate template ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return out


def _words(tpl: Mapping[str, Any], side: str) -> list[tuple[str, str]]:
    """(word, group) of the template's ``target`` or ``other`` groups."""
    groups = vocabulary()["categories"][tpl["category"]]
    out = []
    for g in tpl[side]:
        if g not in groups:
            raise ValueError(f"template {tpl['id']}: group {g!r} not in vocabulary for {tpl['category']}")
        out += [(w, g) for w in groups[g]]
    return out


def _render(text: str, tpl_id: str, slots: Mapping[str, str]) -> str:
    try:
        return " ".join(_ENV.from_string(text).render(**slots).split())
    except jinja2.UndefinedError as e:
        raise ValueError(f"template {tpl_id}: {e.message}") from e


def fill(
    tpl: Mapping[str, Any], first: tuple[str, str], second: tuple[str, str], unknown: str, version: str
) -> dict[str, Any]:
    """One filled template: rendered texts and the three answers with their ``answer_info``."""
    slots = {
        "NAME1": first[0],
        "NAME2": second[0],
        "A_NAME1": with_article(first[0]),
        "A_NAME2": with_article(second[0]),
    }
    option = tpl.get("option", "The {{ NAME }}")
    texts = {k: _render(tpl[k], tpl["id"], slots) for k in _TEXT_FIELDS}
    answers = [
        (_render(option, tpl["id"], {"NAME": first[0]}), [first[0], first[1]]),
        (_render(option, tpl["id"], {"NAME": second[0]}), [second[0], second[1]]),
        (unknown, [unknown, "unknown"]),
    ]
    return texts | {"answers": answers, "version": version}


def items_of(
    filled: Mapping[str, Any], tpl: Mapping[str, Any], rng: random.Random
) -> Iterator[dict[str, Any]]:
    """The four items of a filled template, options shuffled per item (without ids)."""
    for polarity, condition in itertools.product(("neg", "nonneg"), ("ambig", "disambig")):
        order = [0, 1, 2]
        rng.shuffle(order)
        answers = [filled["answers"][i] for i in order]
        gold = 2 if condition == "ambig" else (0 if polarity == "neg" else 1)
        context = filled["ambiguous"]
        if condition == "disambig":
            context = f"{context} {filled['disambiguating']}"
        question = filled["question_negative" if polarity == "neg" else "question_non_negative"]
        yield {
            "question_index": tpl["question_index"],
            "question_polarity": polarity,
            "context_condition": condition,
            "category": tpl["category"],
            "answer_info": {f"ans{i}": info for i, (_, info) in enumerate(answers)},
            "additional_metadata": {
                "subcategory": tpl.get("subcategory", "None"),
                "stereotyped_groups": list(tpl.get("stereotyped_groups", tpl["target"])),
                "version": filled["version"],
                "source": SOURCE,
            },
            "context": context,
            "question": question,
            "ans0": answers[0][0],
            "ans1": answers[1][0],
            "ans2": answers[2][0],
            "label": order.index(gold),
            "template_id": tpl["id"],
        }


def generate(seed: int = 0, pairs_per_template: int = PAIRS_PER_TEMPLATE) -> list[dict[str, Any]]:
    """All items: per template ``pairs_per_template`` (target word, other word) pairs drawn with
    the seed, each filled in both orders (versions a and b), four items per filled template."""
    rng = random.Random(seed)
    unknowns = list(unknown_phrases())
    items: list[dict[str, Any]] = []
    counters: dict[str, int] = {}
    for tpl in load_templates():
        pairs = [
            (t, o) for t, o in itertools.product(_words(tpl, "target"), _words(tpl, "other")) if t[0] != o[0]
        ]
        rng.shuffle(pairs)
        for target, other in pairs[:pairs_per_template]:
            for version, (first, second) in (("a", (target, other)), ("b", (other, target))):
                filled = fill(tpl, first, second, rng.choice(unknowns), version)
                for item in items_of(filled, tpl, rng):
                    n = counters.get(tpl["category"], 0)
                    counters[tpl["category"]] = n + 1
                    items.append({"example_id": n, **item})
    return _balanced_order(items)


def _balanced_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Filled templates (runs of 4 items) interleaved across categories, so ``--limit N`` is balanced."""
    by_cat: dict[str, list[list[dict[str, Any]]]] = {}
    for k in range(0, len(items), 4):
        by_cat.setdefault(items[k]["category"], []).append(items[k : k + 4])
    quads = interleave([by_cat[c] for c in sorted(by_cat)])
    return [item for quad in quads for item in quad]


def write_jsonl(items: list[dict[str, Any]], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pairs-per-template", type=int, default=PAIRS_PER_TEMPLATE)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    items = generate(args.seed, args.pairs_per_template)
    write_jsonl(items, args.out)
    cats = sorted({i["category"] for i in items})
    print(f"wrote {len(items)} items in {len(cats)} categories to {args.out}")


if __name__ == "__main__":
    main()
