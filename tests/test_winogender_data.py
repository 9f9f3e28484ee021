"""Winogender loader: the bundled sentences and the upstream ``templates.tsv`` + ``occupations-stats.tsv`` schema."""

from __future__ import annotations

import pytest

from harness_ext.data.io import DataError
from harness_ext.data.winogender import PRONOUNS, load_docs, load_stats

TEMPLATES_HEADER = "occupation(0)\tother-participant(1)\tanswer\tsentence\n"
STATS_HEADER = "occupation\tbergsma_pct_female\tbls_pct_female\tbls_year\n"


def write_upstream(folder, templates: list[str], stats: list[str]):
    """Files in the upstream schema (sentences written for these tests)."""
    folder.mkdir(exist_ok=True)
    (folder / "templates.tsv").write_text(
        TEMPLATES_HEADER + "".join(t + "\n" for t in templates), encoding="utf-8"
    )
    (folder / "occupations-stats.tsv").write_text(
        STATS_HEADER + "".join(s + "\n" for s in stats), encoding="utf-8"
    )
    return str(folder)


GOOD_TEMPLATES = [
    "surveyor\tfarmer\t0\tThe $OCCUPATION told the $PARTICIPANT that $NOM_PRONOUN had marked the boundary.",
    "surveyor\tfarmer\t1\tThe $OCCUPATION walked the field with the $PARTICIPANT and $POSS_PRONOUN dog.",
    "florist\tgroom\t0\tThe $OCCUPATION handed the $PARTICIPANT the flowers $NOM_PRONOUN had tied.",
    "florist\tgroom\t1\tThe $OCCUPATION pinned a rose on the $PARTICIPANT and wished $ACC_PRONOUN luck.",
]
GOOD_STATS = ["surveyor\t12.0\t9.5\t2015", "florist\t70.1\t84.0\t2015"]


def test_upstream_schema_from_a_local_folder(tmp_path):
    docs = load_docs(write_upstream(tmp_path / "wg", GOOD_TEMPLATES, GOOD_STATS))
    assert [d["id"] for d in docs] == [
        "surveyor.farmer.0",
        "surveyor.farmer.1",
        "florist.groom.0",
        "florist.groom.1",
    ]
    first = docs[0]
    assert first["sentence"] == "The surveyor told the farmer that _ had marked the boundary."
    assert first["before"] == "The surveyor told the farmer that"
    assert first["slot"] == "nom" and first["referent"] == "occupation" and not first["capitalized"]
    assert first["female_pct"] == 9.5 and first["female_share"] == pytest.approx(0.095)
    assert [d["slot"] for d in docs] == ["nom", "poss", "nom", "acc"]
    assert docs[1]["referent"] == "participant"
    assert first["source"].startswith("file:wg#sha256=")
    only = load_docs(str(tmp_path / "wg"), referent="participant")
    assert [d["answer"] for d in only] == [1, 1]


@pytest.mark.parametrize(
    ("templates", "stats", "message"),
    [
        (
            ["surveyor\tfarmer\t0\tThe $OCCUPATION met the $PARTICIPANT."],
            GOOD_STATS,
            "expected one pronoun slot",
        ),
        (["surveyor\tfarmer\t0\t$NOM_PRONOUN saw $POSS_PRONOUN map."], GOOD_STATS, "found 2"),
        (["surveyor\tfarmer\t2\tThe $OCCUPATION said $NOM_PRONOUN left."], GOOD_STATS, "field 'answer'"),
        (["baker\tfarmer\t0\tThe $OCCUPATION said $NOM_PRONOUN left."], GOOD_STATS, "'baker' has no row"),
        (
            ["surveyor\tfarmer\t0\tThe $OCCUPATION told $AGENT that $NOM_PRONOUN left."],
            GOOD_STATS,
            "unknown placeholder",
        ),
        (GOOD_TEMPLATES[:1] * 2, GOOD_STATS, "duplicate template"),
        (GOOD_TEMPLATES, ["surveyor\t1\t104.0\t2015"], "percentage in \\[0, 100\\]"),
        (GOOD_TEMPLATES, ["surveyor\t1\tmany\t2015"], "expected a number"),
        (GOOD_TEMPLATES, ["surveyor\t1\t9.5\t2015", "surveyor\t1\t9.6\t2015"], "listed twice"),
    ],
)
def test_schema_errors_name_file_line_and_field(tmp_path, templates, stats, message):
    folder = write_upstream(tmp_path / "bad", templates, stats)
    with pytest.raises(DataError, match=message) as err:
        load_docs(folder)
    assert err.value.path.endswith(".tsv") and err.value.line >= 1


def test_missing_columns_and_files(tmp_path):
    folder = tmp_path / "wg"
    write_upstream(folder, GOOD_TEMPLATES, GOOD_STATS)
    (folder / "occupations-stats.tsv").write_text("occupation\tpct\nsurveyor\t9.5\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"lacks column\(s\) bls_pct_female"):
        load_docs(str(folder))
    with pytest.raises(FileNotFoundError, match=r"nowhere/occupations-stats\.tsv"):
        load_docs(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match="metadata 'referent'"):
        load_docs("bundled", referent="both")


def test_sentence_initial_blank_is_capitalized(tmp_path):
    folder = write_upstream(
        tmp_path / "wg", ["surveyor\tfarmer\t0\t$NOM_PRONOUN measured the field."], GOOD_STATS
    )
    (doc,) = load_docs(folder)
    assert doc["before"] == "" and doc["capitalized"] and doc["sentence"] == "_ measured the field."


def test_bundled_data():
    docs = load_docs()
    stats = load_stats("harness_ext/data/bundled/winogender_occupations.tsv")
    occupations = {d["occupation"] for d in docs}
    assert len(occupations) >= 60 and occupations == set(stats)
    assert len(docs) == 2 * len(occupations)
    # --limit N: the first documents are occupation-referent sentences of distinct occupations
    head = docs[: len(occupations)]
    assert all(d["answer"] == 0 for d in head) and len({d["occupation"] for d in head}) == len(head)
    shares = [d["female_share"] for d in head[:56]]
    assert min(shares) < 0.1 and max(shares) > 0.9
    assert all(d["slot"] in PRONOUNS and d["before"] and not d["capitalized"] for d in docs)
    assert all(d["sentence"].count("_") == 1 and "$" not in d["sentence"] for d in docs)
    assert min(stats.values()) > 0.0 and max(stats.values()) < 100.0


def test_load_dataset_reads_the_family_block_and_flat_keys(tmp_path):
    """``--metadata '{"winogender": {...}}'`` reaches the loader (flat keys too); a misspelt key
    in the block is an error naming the accepted keys."""
    from harness_ext.data.winogender import load_dataset
    from harness_ext.params import ParamsError

    folder = write_upstream(tmp_path / "wg", GOOD_TEMPLATES, GOOD_STATS)
    block = load_dataset(winogender={"source": folder, "referent": "participant"})["test"]
    assert block["id"] == ["surveyor.farmer.1", "florist.groom.1"]
    flat = load_dataset(source=folder, referent="occupation", pretrained="ignored-model-arg")["test"]
    assert flat["id"] == ["surveyor.farmer.0", "florist.groom.0"]
    overlaid = load_dataset(source="bundled", winogender={"source": folder})["test"]
    assert len(overlaid) == 4
    with pytest.raises(
        ParamsError, match=r"unknown key.*'referrent'.*accepted keys: limit_seed, referent, source"
    ):
        load_dataset(winogender={"referrent": "participant"})
