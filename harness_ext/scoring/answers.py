"""Reading the chosen option or the short answer out of free text.

Multiple choice follows the spirit of the SPT evaluation code (arXiv 2409.01658: a bracketed
letter first, then a bare letter), made stricter and extended: explicit statements ("the answer is
B", "it's C", "I still think B") win over incidental letters, the *last* explicit statement wins
(a reply that revises its answer names the new one last), and when no letter is given the option
*text* is matched ("2 + 3 = 5" picks the option "5"). Anything ambiguous is unparsed, never guessed.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence

LETTERS = tuple(string.ascii_uppercase)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def normalize(text: str) -> str:
    """NFKC, straight apostrophes, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", text or "").translate(_APOSTROPHES)
    return re.sub(r"\s+", " ", text).strip()


def _letter_alt(letters: Sequence[str]) -> str:
    return "|".join(re.escape(x) for x in letters)


def parse_choice(text: str, options: Sequence[str], letters: Sequence[str] | None = None) -> int | None:
    """Index of the option the text answers with, or None when it cannot be told.

    ``letters`` label the options (default A, B, C, ...); matching of letters is
    case-insensitive only where the context makes a letter unmistakable (brackets, "answer is").
    """
    letters = list(letters or LETTERS[: len(options)])
    idx = {x.lower(): i for i, x in enumerate(letters)}
    t = normalize(text)
    if not t:
        return None
    alt = _letter_alt(letters)

    # a) the whole reply is a letter: "B", "(B)", "B)", "B.", "[b]"
    m = re.fullmatch(rf"[\(\[\{{]?\s*({alt})\s*[\)\]\}}]?[.!:]?", t, flags=re.IGNORECASE)
    if m:
        return idx[m.group(1).lower()]

    # b) explicit statements; the last one wins
    explicit = (
        rf"(?:answer|choice|option)(?:\s+(?:is|would be|remains|should be))?(?:\s+still)?"
        rf"(?:\s+actually)?\s*:?\s*[\(\[]?({alt})(?![\w'])"
    )
    verbs = (
        r"(?i:it's|it is|i think|i still think|i believe|i still believe|go with|choose|pick|"
        r"select|stick with|stand by)"
    )
    stance = (
        rf"\b(?:{verbs}|(?i:is|be))\s+(?:(?i:option)\s+)?[\(\[]({alt})[\)\]]"
        rf"|\b{verbs}\s+(?:(?i:option)\s+)?({alt})(?![\w'])"
    )
    hits: list[tuple[int, str]] = []
    for m in re.finditer(explicit, t, flags=re.IGNORECASE):
        hits.append((m.start(), m.group(1)))
    for m in re.finditer(stance, t):
        hits.append((m.start(), m.group(1) or m.group(2)))
    if hits:
        return idx[max(hits)[1].lower()]

    # c) bracketed letters "(B)" or "B)" at a word start: only if they all agree
    found = {
        (m.group(1) or m.group(2)).lower()
        for m in re.finditer(rf"\(({alt})\)|(?<![\w(])({alt})\)", t, flags=re.IGNORECASE)
    }
    if len(found) == 1:
        return idx[found.pop()]
    if len(found) > 1:
        return None

    # d) the text of exactly one option
    by_text = _match_option_text(t, options)
    if by_text is not None:
        return by_text

    # e) a reply that opens with a capital letter used as a label: "B is correct", "B: 5"
    m = re.match(rf"({alt})(?:[.:,\-]|\s*$|\s+(?:is|was|would|-))", t)
    if m:
        return idx[m.group(1).lower()]
    return None


def _match_option_text(text: str, options: Sequence[str]) -> int | None:
    low = text.lower()
    hits = []
    for i, opt in enumerate(options):
        o = normalize(opt).lower().rstrip(".")
        o = re.sub(r"^the\s+", "", o)  # not "a": "A negative" is a name
        if o and re.search(rf"(?<![\w.]){re.escape(o)}(?![\w]|\.\d)", low):
            hits.append(i)
    # an option whose text contains another's ("5" inside "15") is not a second hit
    hits = [i for i in hits if not any(j != i and _contains(options[j], options[i]) for j in hits)]
    return hits[0] if len(hits) == 1 else None


def _contains(big: str, small: str) -> bool:
    return normalize(small).lower() in normalize(big).lower() and len(big) > len(small)


def matches_alias(text: str, aliases: Sequence[str]) -> bool | None:
    """Free-form correctness: any gold alias occurs in the reply (CRaFT's rule, arXiv 2410.06913).

    Numbers match whole (see :func:`_alias_in`). None (unparsed) for a reply without a letter or
    digit.
    """
    t = normalize(text).lower()
    if not re.search(r"[^\W_]", t):  # nothing that could be an answer: no letter or digit
        return None
    return any(_alias_in(normalize(a).lower(), t) for a in aliases if a.strip())


def _alias_in(alias: str, text: str) -> bool:
    # CRaFT's substring rule, except that a number must not be part of a longer number ("36" is
    # not found in "360" or "3.6")
    left = r"(?<![\d.,])" if alias[0].isdigit() else ""
    right = r"(?![\d]|[.,]\d)" if alias[-1].isdigit() else ""
    return re.search(left + re.escape(alias) + right, text) is not None
