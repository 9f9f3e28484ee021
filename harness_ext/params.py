"""A family's parameters from lm-eval's task ``metadata`` (YAML ``metadata`` and CLI ``--metadata``).

lm-eval hands one ``--metadata`` to every task of a run (merged with ``--model_args``), so with
``--tasks FAMILY_A_TASKS,FAMILY_B_TASKS`` a flat ``{"source": ...}`` reaches both families. Each
family therefore reads its own block first::

    --metadata '{"family_a": {"source": "data/a"}, "family_b": {"source": "b.csv"}}'

:func:`family_params` returns the flat keys overlaid with the family's block. Keys inside the
block must be the family's (a misspelt key is an error listing the accepted ones); flat keys are
not checked, because lm-eval mixes the model's arguments into the same mapping. A block whose name
is close to the family's (``"bqq"``) is an error too, not silently another family's.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import Any

#: Keys lm-eval or harness-ext put into every task's metadata; never parameters.
RESERVED = ("version", "provenance", "config_source")


class ParamsError(ValueError):
    """A ``--metadata`` block that does not fit the family; the message is one line."""


def family_params(
    family: str, metadata: Mapping[str, Any] | None, accepted: Collection[str]
) -> dict[str, Any]:
    """Flat ``metadata`` overlaid with ``metadata[family]``, the block's keys checked against ``accepted``."""
    meta = dict(metadata or {})
    block = meta.get(family)
    blocks = {
        k for k, v in meta.items() if isinstance(v, Mapping) and k not in accepted and k not in RESERVED
    }
    flat = {k: v for k, v in meta.items() if k not in blocks}
    for name in sorted(blocks - {family}):
        if difflib.get_close_matches(name, [family], n=1, cutoff=0.6):
            raise ParamsError(
                f"--metadata block {name!r}: no such family; did you mean {family!r}? "
                f"(its keys: {', '.join(sorted(accepted))})"
            )
    if block is None:
        return flat
    if not isinstance(block, Mapping):
        raise ParamsError(f"--metadata {family!r}: expected an object of parameters, found {block!r:.60}")
    unknown = sorted(k for k in block if k not in accepted)
    if unknown:
        raise ParamsError(
            f"--metadata {family!r}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"accepted keys: {', '.join(sorted(accepted))}"
        )
    return flat | dict(block)
