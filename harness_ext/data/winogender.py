"""Winogender-style sentences for ``winogender_selfcorrect``: bundled, or the upstream files.

Both sources are read in the schema of the upstream Winogender repository (Rudinger et al. 2018,
``rudinger/winogender-schemas``, ``data/``):

- ``templates.tsv`` (tab-separated, header row): ``occupation(0)``, ``other-participant(1)``,
  ``answer`` (0: the pronoun refers to the occupation, 1: to the participant) and ``sentence``, a
  template with ``$OCCUPATION``, ``$PARTICIPANT`` and exactly one pronoun slot ``$NOM_PRONOUN``
  (he/she/they), ``$POSS_PRONOUN`` (his/her/their) or ``$ACC_PRONOUN`` (him/her/them);
- ``occupations-stats.tsv``: ``occupation`` and ``bls_pct_female`` (the share of women among the
  occupation's workers, in percent); other columns (``bergsma_pct_female``, ``bls_year``) are
  kept but not needed.

Each template becomes one document::

    {"id", "occupation", "participant", "answer", "referent", "sentence", "before", "slot",
     "capitalized", "female_pct", "female_share", "source"}

``sentence`` shows the blank as ``_`` (Ganguli et al. 2023, Table 1); ``before`` is the sentence
up to the blank (the assistant's prefill); ``slot`` is ``nom``/``poss``/``acc``.

Sources (``--metadata '{"source": ...}'``):

- ``bundled`` (default): ``harness_ext/data/bundled/winogender_templates.tsv`` (140 sentences
  written for this project, two per occupation: pronoun referring to the occupation, then to the
  participant; no sentence is taken from the upstream repository) and
  ``winogender_occupations.tsv`` (70 occupations, share of women from the U.S. Bureau of Labor
  Statistics, Current Population Survey 2022 annual averages, Table 11 "Employed persons by
  detailed occupation, sex, race, and Hispanic or Latino ethnicity"; the BLS title of each
  occupation is in the ``bls_title`` column). The file lists every occupation-referent sentence
  (occupations in a fixed shuffled order) before the participant-referent ones, so ``--limit N``
  gives N distinct occupations over the whole range of shares.
- a folder holding ``templates.tsv`` and ``occupations-stats.tsv`` (e.g. a checkout of the
  upstream ``data/`` folder).

``referent`` (``all``, ``occupation`` or ``participant``) keeps only the sentences whose pronoun
refers to that role.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness_ext.data.io import BUNDLED, DataError, file_sha256
from harness_ext.params import family_params

BUNDLED_TEMPLATES = BUNDLED / "winogender_templates.tsv"
BUNDLED_STATS = BUNDLED / "winogender_occupations.tsv"
TEMPLATES_FILE = "templates.tsv"
STATS_FILE = "occupations-stats.tsv"
TEMPLATE_COLUMNS = ("occupation(0)", "other-participant(1)", "answer", "sentence")
STATS_COLUMNS = ("occupation", "bls_pct_female")
#: Pronoun slot -> (male, female, neutral) forms (Rudinger et al. 2018).
PRONOUNS: dict[str, tuple[str, str, str]] = {
    "nom": ("he", "she", "they"),
    "poss": ("his", "her", "their"),
    "acc": ("him", "her", "them"),
}
_SLOT = re.compile(r"\$(NOM|POSS|ACC)_PRONOUN")
REFERENTS = ("occupation", "participant")


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line_number, row)`` of a tab-separated file with a header holding ``required``."""
    if not path.is_file():
        raise FileNotFoundError(f"data file not found: {path}")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(
                path, 1, f"header lacks column(s) {', '.join(missing)}; expected {', '.join(required)}"
            )
        for row in reader:
            if not any((v or "").strip() for v in row.values()):
                continue
            for c in required:
                if not (row.get(c) or "").strip():
                    raise DataError(path, reader.line_num, f"empty field '{c}'")
            yield reader.line_num, row


def load_stats(path: str | Path) -> dict[str, float]:
    """Occupation -> share of women in percent, from an ``occupations-stats.tsv``."""
    p = Path(path)
    out: dict[str, float] = {}
    for line, row in _rows(p, STATS_COLUMNS):
        occ = row["occupation"].strip()
        try:
            pct = float(row["bls_pct_female"])
        except ValueError:
            raise DataError(
                p, line, f"field 'bls_pct_female': expected a number, found {row['bls_pct_female']!r}"
            ) from None
        if not 0.0 <= pct <= 100.0:
            raise DataError(
                p, line, f"field 'bls_pct_female': expected a percentage in [0, 100], found {pct}"
            )
        if occ in out:
            raise DataError(p, line, f"occupation {occ!r} listed twice")
        out[occ] = pct
    return out


def fill(template: str, occupation: str, participant: str, path: Path, line: int) -> tuple[str, str, str]:
    """``(sentence with "_", text before the blank, slot)`` of one template."""
    slots = _SLOT.findall(template)
    if len(slots) != 1:
        raise DataError(
            path,
            line,
            f"field 'sentence': expected one pronoun slot ($NOM/$POSS/$ACC_PRONOUN), found {len(slots)}",
        )
    text = template.replace("$OCCUPATION", occupation).replace("$PARTICIPANT", participant)
    if "$" in _SLOT.sub("", text):
        raise DataError(path, line, f"field 'sentence': unknown placeholder in {template!r}")
    m = _SLOT.search(text)
    assert m is not None
    return text[: m.start()] + "_" + text[m.end() :], text[: m.start()].rstrip(), slots[0].lower()


def load_docs(source: str = "bundled", referent: str = "all") -> list[dict[str, Any]]:
    """Documents from ``source`` (module docstring), optionally one ``referent`` only."""
    if referent not in ("all", *REFERENTS):
        raise ValueError(
            f"metadata 'referent': expected 'all', 'occupation' or 'participant', found {referent!r}"
        )
    if source == "bundled":
        templates, stats_path, label = BUNDLED_TEMPLATES, BUNDLED_STATS, "bundled"
    else:
        folder = Path(source)
        templates, stats_path, label = folder / TEMPLATES_FILE, folder / STATS_FILE, f"file:{folder.name}"
    stats = load_stats(stats_path)
    tag = f"{label}#sha256={file_sha256(templates)[:16]}+{file_sha256(stats_path)[:16]}"
    docs, seen = [], set()
    for line, row in _rows(templates, TEMPLATE_COLUMNS):
        occ, part = row["occupation(0)"].strip(), row["other-participant(1)"].strip()
        if row["answer"].strip() not in ("0", "1"):
            raise DataError(templates, line, f"field 'answer': expected 0 or 1, found {row['answer']!r}")
        answer = int(row["answer"])
        if occ not in stats:
            raise DataError(templates, line, f"occupation {occ!r} has no row in {stats_path.name}")
        sentence, before, slot = fill(row["sentence"].strip(), occ, part, templates, line)
        doc_id = f"{occ}.{part}.{answer}"
        if doc_id in seen:
            raise DataError(
                templates, line, f"duplicate template {doc_id!r} (occupation, participant, answer)"
            )
        seen.add(doc_id)
        if referent != "all" and REFERENTS[answer] != referent:
            continue
        docs.append(
            {
                "id": doc_id,
                "occupation": occ,
                "participant": part,
                "answer": answer,
                "referent": REFERENTS[answer],
                "sentence": sentence,
                "before": before,
                "slot": slot,
                "capitalized": before == "" or before.endswith((".", "!", "?")),
                "female_pct": stats[occ],
                "female_share": stats[occ] / 100.0,
                "source": tag,
            }
        )
    if not docs:
        raise ValueError(f"no Winogender sentences in source {source!r} for referent {referent!r}")
    return docs


#: ``--metadata`` keys of the family (``{"winogender": {...}}``, or flat when only Winogender runs).
PARAMS = ("source", "referent", "limit_seed")


def load_dataset(**metadata: Any) -> Any:
    """``custom_dataset`` for the task YAML: a ``DatasetDict`` with a ``test`` split.

    ``metadata`` is the task's (lm-eval passes ``--metadata`` here): the flat keys overlaid with
    the ``winogender`` block (:func:`harness_ext.params.family_params`).
    """
    import datasets

    p = family_params("winogender", metadata, PARAMS)
    docs = load_docs(str(p.get("source", "bundled")), str(p.get("referent", "all")))
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})
