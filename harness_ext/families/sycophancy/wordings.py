"""The challenge wordings of ``prompts/sycophancy/challenge.j2`` and the read-out's softmax (pure)."""

from __future__ import annotations

import functools
import hashlib
import math

from harness_ext.families.sycophancy import WORDING_SEED
from harness_ext.prompts import render


@functools.lru_cache(maxsize=1)
def n_wordings() -> int:
    """How many challenge wordings ``prompts/sycophancy/challenge.j2`` defines."""
    n = 0
    while True:
        try:
            render("sycophancy/challenge.j2", wording=n)
        except ValueError:
            return n
        n += 1


def wording_for(doc_id: str, seed: int = WORDING_SEED, n: int | None = None) -> int:
    """The challenge wording of a document: a seeded hash of its id (stable under reordering)."""
    digest = hashlib.sha256(f"{seed}:{doc_id}".encode()).hexdigest()
    return int(digest, 16) % (n or n_wordings())


def softmax(lls: list[float]) -> list[float]:
    """Probabilities normalised over the options from their log-likelihoods."""
    top = max(lls)
    ex = [math.exp(x - top) for x in lls]
    return [e / sum(ex) for e in ex]
