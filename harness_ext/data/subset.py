"""The documents ``--limit N`` evaluates: a seeded sample stratified over the family's strata.

lm-eval's ``--limit N`` takes the first N documents, which on an upstream file is one template of
one category (BBQ) or one prompt type (XSTest's first 25 rows are all ``homonyms``). A
:class:`harness_ext.dialogue.task.DialogueTask` instead reorders its documents so that the first N
are this sample, and lm-eval's slice takes exactly them.

The sample: documents are grouped into *units* that stay together (a document; the three variants
of a CRaFT question), units into *strata* (BBQ: category x context condition; XSTest / OR-Bench:
type x label). Each stratum's units are shuffled by a generator seeded with ``seed`` and the
stratum's name (so one stratum's order does not depend on the others), and units are then taken
round-robin over the strata in sorted order until N documents are taken: every stratum gets
``floor(N / strata)`` or one more unit while it has any. The same documents, seed and N give the
same sample in every task and every run, so ``--limit`` runs pair in ``harness-ext compare``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Hashable, Sequence
from typing import Any

DEFAULT_SEED = 1234


def stratified_order(
    strata: Sequence[Hashable], units: Sequence[Hashable], limit: int, seed: int = DEFAULT_SEED
) -> list[int]:
    """Every document index once: the sample of ``limit`` documents first, then the rest in order.

    ``strata[i]`` / ``units[i]``: document ``i``'s stratum and unit (a unit's stratum is that of
    its first document).
    """
    members: dict[Hashable, list[int]] = {}
    unit_stratum: dict[Hashable, Hashable] = {}
    for i, (s, u) in enumerate(zip(strata, units, strict=True)):
        members.setdefault(u, []).append(i)
        unit_stratum.setdefault(u, s)
    by_stratum: dict[Hashable, list[Hashable]] = {}
    for u, s in unit_stratum.items():
        by_stratum.setdefault(s, []).append(u)
    queues = []
    for s in sorted(by_stratum, key=str):
        us = list(by_stratum[s])
        random.Random(f"{seed}:{s}").shuffle(us)
        queues.append(us)
    chosen: list[int] = []
    depth = 0
    while len(chosen) < limit and any(depth < len(q) for q in queues):
        for q in queues:
            if depth < len(q) and len(chosen) < limit:
                chosen += members[q[depth]]
        depth += 1
    taken = set(chosen)
    return chosen + [i for i in range(len(strata)) if i not in taken]


def column_values(docs: Any, names: Sequence[str]) -> dict[str, list[Any]]:
    """``{name: [value of each document]}`` of a ``datasets.Dataset`` or a list of dicts.

    A Dataset's columns are read from Arrow in one call each; ``docs[name]`` would hand out a
    lazy column that formats every row on its own (seconds per column on BBQ's 58k items).
    """
    if hasattr(docs, "select_columns"):
        present = [n for n in names if n in docs.column_names]
        return {n: list(v) for n, v in docs.select_columns(present).to_dict().items()}
    return {n: [d[n] for d in docs] for n in names if all(n in d for d in docs)}


def describe(
    docs: Any, order: Sequence[int], limit: int, seed: int, columns: Sequence[str], unit: str
) -> dict[str, Any]:
    """What the results record about the sample (``provenance.subset``)."""
    values = column_values(docs, [*columns, unit])
    ids = [str(values[unit][i]) for i in order[:limit]] if unit in values else []
    strata = {"|".join(str(values[c][i]) for c in columns) for i in order[:limit]}
    return {
        "method": "stratified",
        "limit": limit,
        "seed": seed,
        "strata": list(columns),
        "n_strata": len(strata),
        "ids_sha256": hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest(),
    }
